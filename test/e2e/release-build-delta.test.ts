// The release build's differential assets on small files (the real 121 MiB binaries are in
// release-build.test.ts): the block map describes the file exactly, the pack holds each
// distinct chunk once and rebuilds the file, the pack and the map are the same bytes however
// many chunks are compressed at once, and a new build replaces an old one's delta files.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlockMapSchema, CHUNK_MAX } from '../../contract/blockmap.ts'
import { writeDeltaAssets } from '../../scripts/lib/blockmap-build.ts'
import { previousOutputs } from '../../scripts/lib/release-archives.ts'
import { rebuildFromPack } from '../support/chunk-pack.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let work: string
let binary: string
let bytes: Buffer

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cco-delta-assets-'))
  // Parts that compress very differently (random, zeros, text), so that compressions finish
  // out of order, and one random part twice, so that chunks repeat.
  const random = randomBytes(1536 * 1024)
  const text = Buffer.from('function update(){return "cco";}\n'.repeat(40_000))
  bytes = Buffer.concat([random, Buffer.alloc(CHUNK_MAX * 3), text, randomBytes(700 * 1024), random, randomBytes(12_345)])
  binary = join(work, 'cco')
  writeFileSync(binary, bytes)
})

afterAll(() => rmSync(work, { recursive: true, force: true }))

const build = (outDir: string, inFlight?: number) =>
  writeDeltaAssets({ binary, archiveName: 'cco-2026.12.1-linux-x86_64.tar.gz', outDir, version: '2026.12.1', platform: 'linux-x86_64', inFlight })

describe('writeDeltaAssets', () => {
  it('writes a block map of the file and a pack that rebuilds it, each distinct chunk stored once', async () => {
    const out = mkdtempSync(join(work, 'one-'))
    const r = await build(out)
    expect(readdirSync(out).sort()).toEqual(['cco-2026.12.1-linux-x86_64.blockmap.json', 'cco-2026.12.1-linux-x86_64.chunks'])
    const map = BlockMapSchema.parse(JSON.parse(readFileSync(r.blockmap, 'utf8')))
    expect(map.binary).toEqual({ size: bytes.length, sha256: sha256(bytes) })
    const pack = readFileSync(r.pack)
    expect(map.pack).toEqual({ name: 'cco-2026.12.1-linux-x86_64.chunks', size: pack.length, sha256: sha256(pack), compression: 'deflate-raw' })
    expect(rebuildFromPack(map, pack).equals(bytes)).toBe(true)

    // The repeated part's chunks point at the same place in the pack, and the pack is exactly
    // the distinct chunks laid end to end in order of first appearance.
    const places = new Map<string, string>()
    for (const [, , hash, at, length] of map.chunks) {
      const place = `${at}+${length}`
      expect(places.get(hash) ?? place).toBe(place)
      places.set(hash, place)
    }
    expect(places.size).toBeLessThan(map.chunks.length)
    let next = 0
    for (const place of places.values()) {
      const [at, length] = place.split('+').map(Number)
      expect(at).toBe(next)
      next = at! + length!
    }
    expect(next).toBe(pack.length)
  })

  it('writes the same pack and block map whether chunks are compressed one at a time or many at once', async () => {
    const outs = [1, 3, 16].map((n) => [n, mkdtempSync(join(work, `in-flight-${n}-`))] as const)
    const results = []
    for (const [n, out] of outs) results.push(await build(out, n))
    const [first, ...rest] = results.map((r) => ({ pack: readFileSync(r.pack), map: readFileSync(r.blockmap, 'utf8') }))
    for (const r of rest) {
      expect(r.pack.equals(first!.pack)).toBe(true)
      expect(r.map).toBe(first!.map)
    }
  })

  it('refuses a name that is not an archive', async () => {
    await expect(writeDeltaAssets({ binary, archiveName: 'cco', outDir: work, version: '2026.12.1', platform: 'linux-x86_64' })).rejects.toThrow('is not an archive name')
  })
})

describe('previousOutputs', () => {
  it("lists a version's archives, block maps, chunk packs and checksums.txt, and nothing of other versions", () => {
    const dir = mkdtempSync(join(work, 'previous-'))
    const mine = [
      'checksums.txt',
      'cco-2026.12.1-linux-x86_64.tar.gz',
      'cco-2026.12.1-linux-x86_64.blockmap.json',
      'cco-2026.12.1-linux-x86_64.chunks',
      'cco-2026.12.1-windows-x86_64.zip',
      'cco-2026.12.1-windows-x86_64.blockmap.json',
      'cco-2026.12.1-windows-x86_64.chunks',
    ]
    const others = ['cco-2026.12.2-linux-x86_64.chunks', 'cco-2026.12.2-linux-x86_64.blockmap.json', 'notes.md', 'cco-2026.12.1-linux-x86_64.sig']
    for (const n of [...mine, ...others]) writeFileSync(join(dir, n), n)
    expect(previousOutputs(dir, '2026.12.1').sort()).toEqual(mine.sort())
  })
})
