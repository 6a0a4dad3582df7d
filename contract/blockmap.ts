// Differential updates (contract/README.md, "Block maps and chunk packs"): the block map of a
// release binary, the chunk pack its missing chunks are fetched from by range, and the one
// chunking rule that the release build and the client both apply.
//
// A binary is cut into content-defined chunks (FastCDC with normalized chunking over a 32-bit
// gear hash): a cut depends only on the bytes just before it, so code inserted in one place
// moves the later cuts with the data instead of changing every chunk after it. The pack holds
// each distinct chunk once, compressed on its own with raw DEFLATE, so any chunk can be fetched
// with one `Range` request and inflated alone. The block map lists every chunk of the binary in
// order with its offset, length and sha256 (of the uncompressed bytes) and where it is in the
// pack. Pure: no platform globals, so the broker (workerd) validates block maps with it too.

import * as z from 'zod/mini'
import { PRODUCT } from './manifest.ts'
import { isVersion } from './version.ts'

/** The block map's own schema number; a client refuses another one and downloads the archive. */
export const BLOCKMAP_SCHEMA_VERSION = 1
/** The chunking rule's name; changing the gear table, the masks or the cut rule needs a new one. */
export const CHUNKING_ALGORITHM = 'fastcdc-gear32-v1'
/** Chunk sizes in bytes: no cut before MIN, cuts made likelier past AVG, a forced cut at MAX. */
export const CHUNK_MIN = 16 * 1024
export const CHUNK_AVG = 64 * 1024
export const CHUNK_MAX = 256 * 1024
/** How each chunk is stored in the pack. */
export const PACK_COMPRESSION = 'deflate-raw'
/** Largest block map a client or the broker reads (a 512 MiB binary at 64 KiB chunks is ~1 MiB). */
export const BLOCKMAP_MAX_BYTES = 4 * 1024 * 1024
/** Largest binary a block map may describe (the archive's own entry cap). */
export const BLOCKMAP_MAX_BINARY_BYTES = 512 * 1024 * 1024
/** Most chunks a block map may list (BLOCKMAP_MAX_BINARY_BYTES / CHUNK_MIN, rounded up). */
export const BLOCKMAP_MAX_CHUNKS = BLOCKMAP_MAX_BINARY_BYTES / CHUNK_MIN + 1

/**
 * The most pack bytes a chunk of `length` bytes may take: more than raw DEFLATE makes of any
 * input at worst (zlib's deflateBound is `length + length/4096 + length/16384 + 7`; stored blocks
 * add 5 bytes per 64 KiB). A longer pack range would be bytes a host fetches for nothing.
 */
export function packLengthMax(length: number): number {
  return length + Math.floor(length / 1024) + 64
}

/** The names of an archive's differential assets: `X.tar.gz` → `X.blockmap.json` and `X.chunks`. */
export function deltaAssetNames(archiveName: string): { blockmap: string; pack: string } | null {
  const m = /^(.+?)\.(?:tar\.gz|tgz|zip)$/i.exec(archiveName)
  return m ? { blockmap: `${m[1]}.blockmap.json`, pack: `${m[1]}.chunks` } : null
}

// ─── Chunking ─────────────────────────────────────────────────────────────────────────────

/**
 * The gear table: 256 pseudo-random 32-bit words from mulberry32 seeded with 0x63636f31
 * ("cco1"). Written as a generator rather than a literal so that it is plainly not tuned data;
 * the values are part of `fastcdc-gear32-v1` and never change under that name.
 */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256)
  let state = 0x63636f31
  for (let i = 0; i < 256; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    table[i] = (t ^ (t >>> 14)) >>> 0
  }
  return table
})()

// Normalized chunking (FastCDC 2020): a stricter mask (2 more bits) before AVG, a looser one
// (2 fewer) after it. The hash shifts left, so its high bits depend on the most recent bytes
// only (the last 32): masks take the high bits.
const AVG_BITS = Math.log2(CHUNK_AVG)
const highMask = (bits: number) => (0xffffffff << (32 - bits)) >>> 0
const MASK_STRICT = highMask(AVG_BITS + 2)
const MASK_LOOSE = highMask(AVG_BITS - 2)

/**
 * The end (exclusive) of the chunk that starts at `start` in `data[start, end)`, or -1 when
 * the data ends before a cut can be decided and `final` is false (read more and call again).
 * With `final`, the data's end is the file's end and always ends a chunk.
 */
export function nextCut(data: Uint8Array, start: number, end: number, final: boolean): number {
  const available = end - start
  if (available < CHUNK_MAX && !final) return -1
  if (available <= CHUNK_MIN) return end
  const limit = start + Math.min(available, CHUNK_MAX)
  const normal = start + Math.min(available, CHUNK_AVG)
  let hash = 0
  let i = start + CHUNK_MIN
  for (; i < normal; i++) {
    hash = ((hash << 1) + GEAR[data[i]!]!) >>> 0
    if ((hash & MASK_STRICT) === 0) return i + 1
  }
  for (; i < limit; i++) {
    hash = ((hash << 1) + GEAR[data[i]!]!) >>> 0
    if ((hash & MASK_LOOSE) === 0) return i + 1
  }
  return limit
}

/** Every chunk of a whole buffer as `[offset, length]` (for tests and small inputs; files are read in pieces). */
export function chunkAll(data: Uint8Array): Array<[offset: number, length: number]> {
  const out: Array<[number, number]> = []
  for (let start = 0; start < data.length; ) {
    const cut = nextCut(data, start, data.length, true)
    out.push([start, cut - start])
    start = cut
  }
  return out
}

// ─── The block map ────────────────────────────────────────────────────────────────────────

const Sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits'))
const Size = z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER))
const Offset = z.int().check(z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER))

/** One chunk: `[offset, length, sha256, pack_offset, pack_length]` (a tuple: a map lists thousands). */
export const BlockMapChunkSchema = z.tuple([Offset, z.int().check(z.minimum(1), z.maximum(CHUNK_MAX)), Sha256Hex, Offset, Size])
export type BlockMapChunk = z.infer<typeof BlockMapChunkSchema>

export const BlockMapSchema = z
  .object({
    schema: z.literal(BLOCKMAP_SCHEMA_VERSION),
    product: z.literal(PRODUCT),
    version: z.string().check(z.refine(isVersion, 'not a version')),
    platform: z.string().check(z.regex(/^[a-z0-9]+-[a-z0-9_]+$/)),
    chunking: z.object({
      algorithm: z.literal(CHUNKING_ALGORITHM),
      min: z.literal(CHUNK_MIN),
      avg: z.literal(CHUNK_AVG),
      max: z.literal(CHUNK_MAX),
    }),
    binary: z.object({ size: Size.check(z.maximum(BLOCKMAP_MAX_BINARY_BYTES)), sha256: Sha256Hex }),
    pack: z.object({
      name: z.string().check(z.minLength(1), z.maxLength(255)),
      size: Size,
      sha256: Sha256Hex,
      compression: z.literal(PACK_COMPRESSION),
    }),
    chunks: z.array(BlockMapChunkSchema).check(z.minLength(1), z.maxLength(BLOCKMAP_MAX_CHUNKS)),
  })
  .check(
    z.superRefine((map, ctx) => {
      const problem = blockMapProblem(map)
      if (problem) ctx.issues.push({ code: 'custom', input: map.chunks, path: ['chunks'], message: problem })
    }),
  )
export type BlockMap = z.infer<typeof BlockMapSchema>

/**
 * What makes a well-typed block map unusable: chunks that do not tile the binary exactly, a
 * chunk over CHUNK_MAX, a pack range outside the pack or longer than its chunk can compress to
 * (`packLengthMax`), or one sha256 with two lengths or two pack ranges (one sha256 is one
 * content, stored once). Null when it is consistent.
 */
export function blockMapProblem(map: Pick<BlockMap, 'binary' | 'pack' | 'chunks'>): string | null {
  let next = 0
  const first = new Map<string, number>()
  for (const [i, [offset, length, sha256, packOffset, packLength]] of map.chunks.entries()) {
    if (offset !== next) return `chunk ${i} starts at ${offset}, expected ${next} (chunks must tile the binary in order)`
    if (packOffset + packLength > map.pack.size) return `chunk ${i} lies outside the pack (${packOffset}+${packLength} > ${map.pack.size})`
    if (packLength > packLengthMax(length)) return `chunk ${i} takes ${packLength} bytes of the pack, more than raw DEFLATE makes of ${length} bytes (${packLengthMax(length)})`
    const seen = first.get(sha256)
    if (seen === undefined) first.set(sha256, i)
    else {
      const [, l, , o, n] = map.chunks[seen]!
      if (l !== length || o !== packOffset || n !== packLength) return `chunk ${i} has the sha256 of chunk ${seen} but another length or pack range`
    }
    next = offset + length
  }
  if (next !== map.binary.size) return `the chunks cover ${next} bytes, the binary has ${map.binary.size}`
  return null
}
