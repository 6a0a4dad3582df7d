// The chunking rule and the block map (contract/blockmap.ts), and the file chunker both the
// release build and the client use (client/src/update/chunk-file.ts): cuts are content-defined
// (an insertion moves later cuts with the data instead of changing every chunk after it), stay
// within the sizes, tile the input, and are the same whether the input is read whole or in
// pieces; the block map schema refuses maps that do not describe one binary and one pack.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { constants, deflateRawSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import {
  BlockMapSchema,
  CHUNK_AVG,
  CHUNK_MAX,
  CHUNK_MIN,
  chunkAll,
  deltaAssetNames,
  GEAR,
  nextCut,
  packLengthMax,
} from '../../contract/blockmap.ts'
import { chunkFile } from '../../client/src/update/chunk-file.ts'

/** Deterministic pseudo-random bytes, so a failure reproduces. */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length)
  let s = seed >>> 0
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s >>> 24
  }
  return out
}

const dir = mkdtempSync(join(tmpdir(), 'cco-blockmap-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('fastcdc-gear32-v1', () => {
  it('has a fixed gear table (the values are part of the rule’s name)', () => {
    expect(GEAR.length).toBe(256)
    expect(new Set(GEAR).size).toBe(256)
    // Pinned: a change to the generator would silently make every client's chunks differ from
    // every block map published before it.
    expect([GEAR[0], GEAR[1], GEAR[2], GEAR[255]]).toEqual([1370258278, 562850335, 2858275133, 4086307267])
  })

  it('tiles the input with chunks between the minimum and the maximum, averaging near 64 KiB', () => {
    const data = noise(8 * 1024 * 1024, 1)
    const chunks = chunkAll(data)
    let next = 0
    for (const [i, [offset, length]] of chunks.entries()) {
      expect(offset).toBe(next)
      expect(length).toBeLessThanOrEqual(CHUNK_MAX)
      if (i < chunks.length - 1) expect(length).toBeGreaterThan(CHUNK_MIN)
      next = offset + length
    }
    expect(next).toBe(data.length)
    const average = data.length / chunks.length
    expect(average).toBeGreaterThan(CHUNK_AVG * 0.75)
    expect(average).toBeLessThan(CHUNK_AVG * 1.5)
  })

  it('cuts where the content says: bytes inserted early leave almost every later chunk as it was', () => {
    const a = noise(4 * 1024 * 1024, 2)
    const b = Buffer.concat([a.subarray(0, 100_000), randomBytes(3000), a.subarray(100_000)])
    const text = (d: Buffer) => new Set(chunkAll(d).map(([o, l]) => d.subarray(o, o + l).toString('base64')))
    const before = text(a)
    const after = [...text(b)]
    const changed = after.filter((c) => !before.has(c)).length
    // The insertion touches one or two chunks; fixed-size blocks would change every one after it.
    expect(changed).toBeLessThanOrEqual(3)
    expect(after.length).toBeGreaterThan(40)
  })

  it('forces a cut at the maximum in data without any cut point (a run of zeros)', () => {
    const zeros = Buffer.alloc(CHUNK_MAX * 3 + 5)
    expect(chunkAll(zeros).map(([, l]) => l)).toEqual([CHUNK_MAX, CHUNK_MAX, CHUNK_MAX, 5])
  })

  it('asks for more data instead of guessing when the input may continue', () => {
    const data = noise(CHUNK_MAX - 1, 3)
    expect(nextCut(data, 0, data.length, false)).toBe(-1)
    expect(nextCut(data, 0, data.length, true)).toBeGreaterThan(0)
  })

  it('chunkFile reads a file in pieces and cuts exactly where chunkAll cuts the whole of it', async () => {
    // Over 4 MiB (one read) with an odd tail, so cuts fall across read boundaries.
    const data = noise(9 * 1024 * 1024 + 12_345, 4)
    const path = join(dir, 'binary')
    writeFileSync(path, data)
    const fromFile: Array<[number, number]> = []
    for await (const chunk of chunkFile(path)) {
      expect(chunk.bytes.equals(data.subarray(chunk.offset, chunk.offset + chunk.length))).toBe(true)
      fromFile.push([chunk.offset, chunk.length])
    }
    expect(fromFile).toEqual(chunkAll(data))
  })

  it('chunkFile of an empty file yields nothing', async () => {
    const path = join(dir, 'empty')
    writeFileSync(path, '')
    const chunks = []
    for await (const c of chunkFile(path)) chunks.push(c)
    expect(chunks).toEqual([])
  })
})

describe('deltaAssetNames', () => {
  it('names the block map and the pack after the archive', () => {
    expect(deltaAssetNames('cco-1.2.3-linux-x86_64.tar.gz')).toEqual({ blockmap: 'cco-1.2.3-linux-x86_64.blockmap.json', pack: 'cco-1.2.3-linux-x86_64.chunks' })
    expect(deltaAssetNames('cco-1.2.3-windows-x86_64.zip')).toEqual({ blockmap: 'cco-1.2.3-windows-x86_64.blockmap.json', pack: 'cco-1.2.3-windows-x86_64.chunks' })
    expect(deltaAssetNames('cco-1.2.3-linux-x86_64.tgz')?.pack).toBe('cco-1.2.3-linux-x86_64.chunks')
    expect(deltaAssetNames('checksums.txt')).toBeNull()
    expect(deltaAssetNames('.tar.gz')).toBeNull()
  })
})

describe('BlockMapSchema', () => {
  const sha = (c: string) => c.repeat(64)
  const map = () => ({
    schema: 1,
    product: 'cco',
    version: '2026.12.1',
    platform: 'linux-x86_64',
    chunking: { algorithm: 'fastcdc-gear32-v1', min: 16384, avg: 65536, max: 262144 },
    binary: { size: 100_000, sha256: sha('a') },
    pack: { name: 'cco-2026.12.1-linux-x86_64.chunks', size: 50_000, sha256: sha('b'), compression: 'deflate-raw' },
    chunks: [
      [0, 60_000, sha('c'), 0, 30_000],
      [60_000, 40_000, sha('d'), 30_000, 20_000],
    ],
  })

  it('accepts a map whose chunks tile the binary and lie in the pack', () => {
    expect(BlockMapSchema.safeParse(map()).success).toBe(true)
  })

  it('accepts a chunk that appears twice, stored once, and an incompressible chunk at the maximum', () => {
    const m = map()
    m.binary.size = 160_000 + CHUNK_MAX
    m.pack.size = 50_000 + packLengthMax(CHUNK_MAX)
    m.chunks.push([100_000, 60_000, sha('c'), 0, 30_000], [160_000, CHUNK_MAX, sha('e'), 50_000, packLengthMax(CHUNK_MAX)])
    expect(BlockMapSchema.safeParse(m).error?.issues).toBeUndefined()
  })

  it('bounds a pack range by what zlib can make of the chunk at worst (stored blocks)', () => {
    for (const length of [1, 100, 65_535, 65_536, CHUNK_MAX]) {
      const incompressible = randomBytes(length)
      expect(deflateRawSync(incompressible, { level: constants.Z_BEST_COMPRESSION }).length).toBeLessThanOrEqual(packLengthMax(length))
      expect(deflateRawSync(incompressible, { level: constants.Z_NO_COMPRESSION }).length).toBeLessThanOrEqual(packLengthMax(length))
    }
  })

  const refusals: Array<[string, (m: ReturnType<typeof map>) => void, RegExp]> = [
    ['a gap between chunks', (m) => (m.chunks[1]![0] = 60_001), /starts at 60001, expected 60000/],
    ['chunks that overlap', (m) => (m.chunks[1]![0] = 59_999), /starts at 59999/],
    ['chunks short of the binary', (m) => (m.binary.size = 100_001), /cover 100000 bytes, the binary has 100001/],
    ['a pack range past the pack', (m) => (m.chunks[1]![4] = 20_001), /outside the pack/],
    ['a chunk over the maximum', (m) => (m.chunks[0]![1] = CHUNK_MAX + 1), /chunks/],
    // Within the pack but more than raw DEFLATE can make of the chunk: a host would fetch it for nothing.
    ['a pack range longer than its chunk can compress to', (m) => ((m.pack.size = 200_000), (m.chunks[1]![4] = 40_000 + (40_000 >> 10) + 65)), /chunk 1 takes 40104 bytes of the pack, more than raw DEFLATE makes of 40000 bytes \(40103\)/],
    // One sha256 is one content: the same length, and stored once in the pack.
    ['one sha256 with two lengths', (m) => ((m.chunks[1]![2] = sha('c')), (m.chunks[1]![3] = 0), (m.chunks[1]![4] = 30_000)), /chunk 1 has the sha256 of chunk 0 but another length or pack range/],
    ['one sha256 at two places in the pack', (m) => ((m.chunks[1]![1] = 60_000), (m.binary.size = 120_000), (m.chunks[1]![2] = sha('c'))), /chunk 1 has the sha256 of chunk 0 but another length or pack range/],
    ['another chunking rule', (m) => (m.chunking.algorithm = 'fastcdc-gear64'), /chunking/],
    ['other chunk sizes', (m) => (m.chunking.avg = 8192), /chunking/],
    ['another compression', (m) => (m.pack.compression = 'zstd'), /pack/],
    ['another schema number', (m) => (m.schema = 2), /schema/],
    ['another product', (m) => (m.product = 'other'), /product/],
    ['an uppercase digest', (m) => (m.chunks[0]![2] = 'C'.repeat(64)), /sha256/],
    ['no chunks', (m) => (m.chunks = []), /chunks/],
  ]
  for (const [what, spoil, expected] of refusals) {
    it(`refuses ${what}`, () => {
      const m = map()
      spoil(m)
      const parsed = BlockMapSchema.safeParse(m)
      expect(parsed.success).toBe(false)
      expect(JSON.stringify(parsed.error?.issues)).toMatch(expected)
    })
  }
})
