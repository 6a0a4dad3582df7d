// The parts of an install that make `cco update --yes` fast without weakening it: the backup as
// a hard link renamed into place (no copy, no fsync of the binary's bytes), extraction while
// downloading that counts only once the download is verified, and the step trace the bench reads.
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { linkBackupAtomic } from '../../client/src/update/binary-files.ts'
import { extractBinary } from '../../client/src/update/extract.ts'
import { parseTrace, traceStep, TRACE_FILE_ENV } from '../../client/src/update/trace.ts'
import { releaseTarGz } from '../../support/archives.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cco-fast-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('linkBackupAtomic', () => {
  it('keeps the installed binary as the backup, separate from the next one, with nothing staged left', () => {
    const install = join(dir, 'cco')
    const backup = join(dir, 'cco.backup')
    writeFileSync(install, 'old binary')
    chmodSync(install, 0o755)
    writeFileSync(backup, 'older backup')
    linkBackupAtomic(install, backup)
    expect(readFileSync(backup, 'utf8')).toBe('old binary')
    expect(statSync(backup).ino).toBe(statSync(install).ino)
    // The swap: a new file renamed over the install path; then the guide's `cp backup cco`,
    // which writes into the installed inode, must not change the backup.
    writeFileSync(join(dir, 'new'), 'new binary')
    renameSync(join(dir, 'new'), install)
    expect(readFileSync(backup, 'utf8')).toBe('old binary')
    writeFileSync(install, 'overwritten in place')
    expect(readFileSync(backup, 'utf8')).toBe('old binary')
    expect(statSync(backup).mode & 0o777).toBe(0o755)
    expect(readdirSync(dir).sort()).toEqual(['cco', 'cco.backup'])
  })

  it('leaves nothing staged when the backup already is a name of the installed binary (an update interrupted after this step)', () => {
    const install = join(dir, 'cco')
    const backup = join(dir, 'cco.backup')
    writeFileSync(install, 'binary')
    linkSync(install, backup)
    linkBackupAtomic(install, backup)
    expect(readdirSync(dir).sort()).toEqual(['cco', 'cco.backup'])
    expect(readFileSync(backup, 'utf8')).toBe('binary')
  })

  it('throws and leaves nothing staged when the backup cannot be replaced', () => {
    const install = join(dir, 'cco')
    writeFileSync(install, 'binary')
    mkdirSync(join(dir, 'cco.backup', 'x'), { recursive: true })
    expect(() => linkBackupAtomic(install, join(dir, 'cco.backup'))).toThrow()
    expect(readdirSync(dir).sort()).toEqual(['cco', 'cco.backup'])
    expect(readFileSync(install, 'utf8')).toBe('binary')
  })
})

describe('extraction while downloading', () => {
  const BINARY = Buffer.from('#!/bin/sh\necho "cco 2026.1.2"\n')

  function feed(archive: Buffer): PassThrough {
    const source = new PassThrough()
    // Small chunks, as a download delivers them.
    for (let i = 0; i < archive.length; i += 97) source.write(archive.subarray(i, i + 97))
    source.end()
    return source
  }

  it('makes the binary executable once the download is verified', async () => {
    const archive = releaseTarGz(BINARY)
    const dest = join(dir, 'cco')
    const r = await extractBinary({ archivePath: join(dir, 'unused'), kind: 'tar.gz', binaryName: 'cco', dest, archiveSize: archive.length, source: feed(archive), verified: Promise.resolve() })
    expect(readFileSync(dest)).toEqual(BINARY)
    expect(r.size).toBe(BINARY.length)
    expect(statSync(dest).mode & 0o777).toBe(0o755)
  })

  it('discards what it extracted when the download fails its check', async () => {
    const archive = releaseTarGz(BINARY)
    const dest = join(dir, 'cco')
    const verified = Promise.reject(new Error('Checksum verification failed'))
    await expect(
      extractBinary({ archivePath: join(dir, 'unused'), kind: 'tar.gz', binaryName: 'cco', dest, archiveSize: archive.length, source: feed(archive), verified }),
    ).rejects.toThrow('Checksum verification failed')
    expect(existsSync(dest)).toBe(false)
  })
})

describe('the step trace (CCO_TRACE_FILE)', () => {
  it('writes nothing when unset, and one escaped line per step when set', () => {
    const file = join(dir, 'trace.log')
    traceStep({}, 'nothing')
    expect(existsSync(file)).toBe(false)
    traceStep({ [TRACE_FILE_ENV]: file }, 'download')
    traceStep({ [TRACE_FILE_ENV]: file }, 'evil\x1b[2J step')
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('\x1b')
    const steps = parseTrace(text)
    expect(steps.map((s) => s.step)).toEqual(['download', 'evil\\x1b[2J step'])
    for (const s of steps) expect(s.ms).toBeGreaterThanOrEqual(0)
  })
})
