// Safe extraction of the binary from .tar.gz and .zip release archives, and every archive
// fault refused with nothing left behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ArchiveKind } from '../../contract/platform.ts'
import { RefusedError } from '../../client/src/errors.ts'
import { extractBinary } from '../../client/src/update/extract.ts'
import { patchZipDeclaredSize, tarGz, zip, type TarEntry, type ZipEntry } from '../../support/archives.ts'
import { sha256 } from '../../support/signed-manifest.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cco-extract-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const BINARY = Buffer.from('#!/bin/sh\necho "cco 2026.1.2"\n')

async function run(kind: ArchiveKind, archive: Buffer) {
  const archivePath = join(dir, kind === 'zip' ? 'a.zip' : 'a.tar.gz')
  writeFileSync(archivePath, archive)
  const dest = join(dir, 'cco')
  const result = await extractBinary({ archivePath, kind, binaryName: 'cco', dest, archiveSize: archive.length }).then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  )
  return { result, dest }
}

async function refused(kind: ArchiveKind, archive: Buffer, message: RegExp) {
  const { result, dest } = await run(kind, archive)
  expect(result.ok, 'archive should be refused').toBe(false)
  if (result.ok) return
  expect(result.e).toBeInstanceOf(RefusedError)
  expect((result.e as RefusedError).message).toMatch(message)
  // Nothing extracted is left behind.
  expect(readdirSync(dir).filter((n) => n === 'cco')).toEqual([])
  void dest
}

const tarCases: Record<string, [TarEntry[], RegExp]> = {
  'a ../ entry': [[{ name: '../cco', body: BINARY }], /escapes the archive root/],
  'a nested ../ entry': [[{ name: 'a/../../cco', body: BINARY }, { name: 'cco', body: BINARY }], /escapes the archive root/],
  'an absolute path': [[{ name: '/usr/local/bin/cco', body: BINARY }], /absolute path/],
  'a symlink entry': [[{ name: 'cco', type: 'symlink', linkname: '/bin/sh' }], /symbolic link/],
  'a hardlink entry': [[{ name: 'x', body: BINARY }, { name: 'cco', type: 'hardlink', linkname: '/etc/passwd' }], /hard link/],
  'a device entry': [[{ name: 'dev', type: 'chardev' }, { name: 'cco', body: BINARY }], /is a device/],
  'a fifo entry': [[{ name: 'cco', body: BINARY }, { name: 'pipe', type: 'fifo' }], /is a fifo/],
}

describe('tar.gz', () => {
  it('extracts cco at the root with mode 0755 and returns its sha256', async () => {
    const { result, dest } = await run('tar.gz', tarGz([{ name: 'README.md', body: 'hi' }, { name: 'cco', body: BINARY, mode: 0o644 }]))
    expect(result.ok).toBe(true)
    expect(readFileSync(dest)).toEqual(BINARY)
    expect(statSync(dest).mode & 0o777).toBe(0o755)
    if (result.ok) expect(result.r.sha256).toBe(sha256(BINARY))
  })

  it('accepts ./cco as the root binary', async () => {
    const { result } = await run('tar.gz', tarGz([{ name: './', type: 'dir' }, { name: './cco', body: BINARY }]))
    expect(result.ok).toBe(true)
  })

  for (const [name, [entries, why]] of Object.entries(tarCases)) {
    it(`refuses an archive with ${name}`, async () => {
      await refused('tar.gz', tarGz(entries), new RegExp(`^Archive refused: .*${why.source}`))
    })
  }

  it('refuses an archive without the binary', async () => {
    await refused('tar.gz', tarGz([{ name: 'bin/cco', body: BINARY }, { name: 'README.md', body: 'x' }]), /^Binary not found in archive/)
  })

  it('refuses an entry far larger than the archive could honestly hold (decompression bomb)', async () => {
    await refused('tar.gz', tarGz([{ name: 'cco', body: Buffer.alloc(40 * 1024 * 1024) }]), /far more than/)
  })

  it('refuses a header that declares more than the archive holds', async () => {
    await refused('tar.gz', tarGz([{ name: 'cco', body: BINARY, declaredSize: 2 * 1024 ** 3 }]), /^Archive refused: /)
  })

  it('refuses a corrupt archive', async () => {
    const good = tarGz([{ name: 'cco', body: BINARY }])
    await refused('tar.gz', good.subarray(0, good.length - 20), /^Archive refused: |^Binary not found/)
    await refused('tar.gz', Buffer.from('<html>not found</html>'), /^Archive refused: |^Binary not found/)
  })
})

const zipCases: Record<string, [ZipEntry[], RegExp]> = {
  'a ../ entry': [[{ name: '../cco', body: BINARY }], /relative path|escapes the archive root/],
  'an absolute path': [[{ name: '/tmp/cco', body: BINARY }], /absolute path/],
  'a symlink entry': [[{ name: 'cco', body: '/bin/sh', mode: 0o120777 }], /symbolic link/],
  'a device entry': [[{ name: 'cco', body: BINARY }, { name: 'dev', mode: 0o020644 }], /is a device/],
}

describe('zip', () => {
  it('extracts cco at the root', async () => {
    const { result, dest } = await run('zip', await zip([{ name: 'docs/', mode: 0o040755 }, { name: 'cco', body: BINARY }]))
    expect(result.ok).toBe(true)
    expect(readFileSync(dest)).toEqual(BINARY)
    expect(statSync(dest).mode & 0o777).toBe(0o755)
  })

  for (const [name, [entries, why]] of Object.entries(zipCases)) {
    it(`refuses an archive with ${name}`, async () => {
      await refused('zip', await zip(entries), new RegExp(`^Archive refused: .*(${why.source})`))
    })
  }

  it('refuses an archive without the binary', async () => {
    await refused('zip', await zip([{ name: 'other', body: BINARY }]), /^Binary not found in archive/)
  })

  it('refuses an entry far larger than the archive could honestly hold', async () => {
    await refused('zip', await zip([{ name: 'cco', body: Buffer.alloc(40 * 1024 * 1024) }]), /far more than/)
  })

  it('refuses an entry that inflates to more than it declares', async () => {
    const lying = patchZipDeclaredSize(await zip([{ name: 'cco', body: Buffer.alloc(64 * 1024, 0x61) }]), 'cco', 100)
    await refused('zip', lying, /^Archive refused: .*too many bytes/)
  })
})
