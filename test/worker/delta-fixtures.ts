// Differential assets for the workerd tests: a real block map and chunk pack of a small
// deterministic binary, built by the contract's chunking rule (chunkAll) with each distinct
// chunk raw-DEFLATE compressed on its own, as scripts/lib/blockmap-build.ts writes them, and
// the release assets that announce them (GitHub's digest unless told otherwise).
import { BLOCKMAP_SCHEMA_VERSION, CHUNK_AVG, CHUNK_MAX, CHUNK_MIN, CHUNKING_ALGORITHM, PACK_COMPRESSION, chunkAll, deltaAssetNames, type BlockMap, type BlockMapChunk } from '../../contract/blockmap.ts'
import { canonicalAssetName, type Platform } from '../../contract/platform.ts'
import type { FixtureAsset } from '../../support/github.ts'

export async function sha256(bytes: Uint8Array): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Deterministic bytes (xorshift32): random enough that content-defined cuts fall where they would in a real binary. */
export function bytesOf(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size)
  let x = (seed * 0x9e3779b1) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

export interface Delta {
  binary: Uint8Array
  map: BlockMap
  /** The block map as uploaded (UTF-8 JSON). */
  mapBytes: Uint8Array
  pack: Uint8Array
  names: { archive: string; blockmap: string; pack: string }
}

/** The block map and pack of `binary` for the canonical archive of `version` on `platform`. */
export async function buildDelta(version: string, platform: Platform, binary: Uint8Array, o: { archiveName?: string; map?: (m: BlockMap) => unknown } = {}): Promise<Delta> {
  const archive = o.archiveName ?? canonicalAssetName(version, platform)
  const names = deltaAssetNames(archive)!
  const places = new Map<string, [number, number]>()
  const parts: Uint8Array[] = []
  let packSize = 0
  const chunks: BlockMapChunk[] = []
  for (const [offset, length] of chunkAll(binary)) {
    const bytes = binary.subarray(offset, offset + length)
    const digest = await sha256(bytes)
    let place = places.get(digest)
    if (!place) {
      const compressed = await deflateRaw(bytes)
      place = [packSize, compressed.length]
      places.set(digest, place)
      parts.push(compressed)
      packSize += compressed.length
    }
    chunks.push([offset, length, digest, place[0], place[1]])
  }
  const pack = new Uint8Array(packSize)
  let at = 0
  for (const p of parts) {
    pack.set(p, at)
    at += p.length
  }
  const map: BlockMap = {
    schema: BLOCKMAP_SCHEMA_VERSION,
    product: 'cco',
    version,
    platform,
    chunking: { algorithm: CHUNKING_ALGORITHM, min: CHUNK_MIN, avg: CHUNK_AVG, max: CHUNK_MAX },
    binary: { size: binary.length, sha256: await sha256(binary) },
    pack: { name: names.pack, size: pack.length, sha256: await sha256(pack), compression: PACK_COMPRESSION },
    chunks,
  }
  const written = o.map ? o.map(structuredClone(map)) : map
  return { binary, map, mapBytes: new TextEncoder().encode(JSON.stringify(written)), pack, names: { archive, ...names } }
}

export const downloadUrl = (version: string, name: string) => `https://github.com/cco-dev/cco/releases/download/v${version}/${name}`

/** The block map and pack as release assets, each with GitHub's digest unless `digest: false`. */
export async function deltaAssets(version: string, d: Delta, o: { digest?: { blockmap?: boolean; pack?: boolean } } = {}): Promise<{ blockmap: FixtureAsset; pack: FixtureAsset }> {
  const blockmap: FixtureAsset = { name: d.names.blockmap, url: downloadUrl(version, d.names.blockmap), size: d.mapBytes.length }
  const pack: FixtureAsset = { name: d.names.pack, url: downloadUrl(version, d.names.pack), size: d.pack.length }
  if (o.digest?.blockmap !== false) blockmap.digest = `sha256:${await sha256(d.mapBytes)}`
  if (o.digest?.pack !== false) pack.digest = `sha256:${await sha256(d.pack)}`
  return { blockmap, pack }
}

/** A binary of about 700 KiB whose first 300 KiB occur twice, so the pack holds fewer chunks than the map lists. */
export function sampleBinary(seed = 7): Uint8Array {
  const a = bytesOf(300 * 1024, seed)
  const b = bytesOf(100 * 1024, seed + 1)
  const out = new Uint8Array(a.length * 2 + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  out.set(a, a.length + b.length)
  return out
}
