// How the new binary reaches the disk during an update: written on the thread pool in order,
// with early writebacks, executable only once the download is verified; and the sha256 of a
// binary read in blocks (the installed single executable is about 120 MiB).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, renameSync, rmSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fileSha256, settledSha256, startFileSha256 } from '../../client/src/update/binary-files.ts'
import { extractBinary, remainderOf, WRITEBACK_BYTES } from '../../client/src/update/extract.ts'
import { releaseTarGz, zip } from '../../support/archives.ts'
import { sha256 } from '../../support/signed-manifest.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cco-writer-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `archive` into a stream in download-sized chunks, waiting whenever the reader is behind. */
async function feed(source: PassThrough, archive: Buffer): Promise<void> {
  for (let i = 0; i < archive.length; i += 65_536) {
    if (!source.write(archive.subarray(i, i + 65_536))) await new Promise((r) => source.once('drain', r))
  }
  source.end()
}

describe('the binary written while downloading', () => {
  // Larger than several writebacks and than what the writer holds for the pool, so the
  // writes are batched, the reader is paused and resumed, and fdatasyncs run in between.
  const BINARY = Buffer.concat([Buffer.from('#!/bin/sh\necho "cco 2026.1.2"\n'), randomBytes(3 * WRITEBACK_BYTES + 12_345)])

  it('holds exactly the archive bytes, stays 0600 until the download is verified, then is 0755', async () => {
    const archive = releaseTarGz(BINARY)
    const dest = join(dir, 'cco')
    const source = new PassThrough()
    let verify!: () => void
    const verified = new Promise<void>((r) => (verify = r))
    const consumed = new Promise((r) => source.once('end', r))
    const extraction = extractBinary({ archivePath: join(dir, 'unused'), kind: 'tar.gz', binaryName: 'cco', dest, archiveSize: archive.length, source, verified })
    await feed(source, archive)
    await consumed
    // Every byte went through the writer, but the download is not verified yet.
    expect(statSync(dest).mode & 0o777).toBe(0o600)
    verify()
    const r = await extraction
    expect(r).toEqual({ sha256: sha256(BINARY), size: BINARY.length })
    expect(readFileSync(dest).equals(BINARY)).toBe(true)
    expect(statSync(dest).mode & 0o777).toBe(0o755)
  })

  it('writes a .zip entry of that size exactly as well', async () => {
    const archivePath = join(dir, 'a.zip')
    const archive = await zip([{ name: 'cco', body: BINARY }])
    writeFileSync(archivePath, archive)
    const dest = join(dir, 'cco')
    const r = await extractBinary({ archivePath, kind: 'zip', binaryName: 'cco', dest, archiveSize: archive.length })
    expect(r.sha256).toBe(sha256(BINARY))
    expect(readFileSync(dest).equals(BINARY)).toBe(true)
  })
})

describe('remainderOf (what a short write leaves to write again)', () => {
  const chunks = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')]
  const text = (bs: Buffer[]) => Buffer.concat(bs).toString()
  it('drops whole chunks and cuts the one the write ended in', () => {
    expect(text(remainderOf(chunks, 0))).toBe('abcdefgh')
    expect(text(remainderOf(chunks, 3))).toBe('defgh')
    expect(text(remainderOf(chunks, 5))).toBe('fgh')
    expect(remainderOf(chunks, 8)).toEqual([])
  })
})

describe('fileSha256', () => {
  it('hashes a file larger than its read block, and returns null for a missing one', () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 5)
    const path = join(dir, 'big')
    writeFileSync(path, bytes)
    expect(fileSha256(path)).toBe(sha256(bytes))
    expect(fileSha256(join(dir, 'missing'))).toBeNull()
  })
})

describe('the installed binary hashed while the new one downloads', () => {
  // Large enough for a worker thread (a single executable is about 120 MiB).
  const big = () => randomBytes(17 * 1024 * 1024)

  it('gives the sha256 of the file computed on a worker', async () => {
    const bytes = big()
    const path = join(dir, 'cco')
    writeFileSync(path, bytes)
    const pending = startFileSha256(path)
    expect(pending).toBeDefined()
    expect(await pending!.sha256).toBe(sha256(bytes))
    expect(await settledSha256(path, pending)).toBe(sha256(bytes))
  })

  it('hashes the file again when another one took its name meanwhile', async () => {
    const path = join(dir, 'cco')
    writeFileSync(path, big())
    const pending = startFileSha256(path)
    const other = big()
    writeFileSync(join(dir, 'other'), other)
    renameSync(join(dir, 'other'), path)
    expect(await settledSha256(path, pending)).toBe(sha256(other))
  })

  it('hashes a small file inline, and a missing one is null', async () => {
    const path = join(dir, 'small')
    writeFileSync(path, 'bundle')
    expect(startFileSha256(path)).toBeUndefined()
    expect(await settledSha256(path, undefined)).toBe(sha256(Buffer.from('bundle')))
    expect(startFileSha256(join(dir, 'missing'))).toBeUndefined()
    expect(await settledSha256(join(dir, 'missing'), undefined)).toBeNull()
  })
})
