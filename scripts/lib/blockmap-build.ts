// The differential assets of one release archive (contract/README.md, "Block maps and chunk
// packs"): `X.chunks`, each distinct chunk of the binary once, in order of first appearance,
// compressed on its own with raw DEFLATE; and `X.blockmap.json`, every chunk in binary order
// with its offset, length, sha256 and place in the pack.
//
// Compressing ~1 600 chunks at level 9 in one thread took ~7 s per platform, so chunks are
// compressed by libuv's thread pool (async deflateRaw), several at a time, and written in the
// order they were first seen: a chunk's compressed bytes do not depend on which thread made
// them, so the pack stays byte-for-byte the same for the same binary.
import { createHash } from 'node:crypto'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { constants, deflateRaw } from 'node:zlib'
import {
  BLOCKMAP_SCHEMA_VERSION,
  BlockMapSchema,
  CHUNK_AVG,
  CHUNK_MAX,
  CHUNK_MIN,
  CHUNKING_ALGORITHM,
  deltaAssetNames,
  PACK_COMPRESSION,
  type BlockMap,
  type BlockMapChunk,
} from '../../contract/blockmap.ts'
import { PRODUCT } from '../../contract/manifest.ts'
import { chunkFile } from '../../client/src/update/chunk-file.ts'

export interface DeltaAssets {
  blockmap: string
  pack: string
  map: BlockMap
}

const deflateRawAsync = promisify(deflateRaw)

/** Chunks being compressed at once: enough to keep the thread pool (4 threads by default) busy. */
const DEFAULT_IN_FLIGHT = 8

export interface DeltaAssetsOptions {
  binary: string
  archiveName: string
  outDir: string
  version: string
  platform: string
  /** Chunks compressed at the same time (1 compresses one after the other); the output is the same. */
  inFlight?: number
}

/** Where a distinct chunk ended up in the pack; filled in when its compressed bytes are written. */
interface Place {
  at: number
  length: number
}

/** Writes `X.blockmap.json` and `X.chunks` for the archive `archiveName` holding `binary`, into `outDir`. */
export async function writeDeltaAssets(o: DeltaAssetsOptions): Promise<DeltaAssets> {
  const names = deltaAssetNames(o.archiveName)
  if (!names) throw new Error(`writeDeltaAssets: ${o.archiveName} is not an archive name`)
  const inFlight = Math.max(1, o.inFlight ?? DEFAULT_IN_FLIGHT)
  const packPath = join(o.outDir, names.pack)
  const pack = await open(packPath, 'w', 0o644)
  const binaryHash = createHash('sha256')
  const packHash = createHash('sha256')
  const stored = new Map<string, Place>()
  const order: Array<{ offset: number; length: number; sha256: string; place: Place }> = []
  // Compressions in flight, oldest first; each is written to the pack when it is the oldest.
  const pending: Array<{ place: Place; compressed: Promise<Buffer> }> = []
  let packSize = 0
  let binarySize = 0
  const writeOldest = async () => {
    const { place, compressed } = pending.shift()!
    const bytes = await compressed
    await pack.write(bytes, 0, bytes.length, packSize)
    packHash.update(bytes)
    place.at = packSize
    place.length = bytes.length
    packSize += bytes.length
  }
  try {
    for await (const chunk of chunkFile(o.binary)) {
      binaryHash.update(chunk.bytes)
      binarySize += chunk.length
      let place = stored.get(chunk.sha256)
      if (!place) {
        place = { at: -1, length: 0 }
        stored.set(chunk.sha256, place)
        // chunkFile reuses its buffer once resumed: the compression gets a copy.
        const compressed = deflateRawAsync(Buffer.from(chunk.bytes), { level: constants.Z_BEST_COMPRESSION })
        compressed.catch(() => {}) // awaited in writeOldest; keeps an early failure from going unhandled meanwhile
        pending.push({ place, compressed })
        if (pending.length >= inFlight) await writeOldest()
      }
      order.push({ offset: chunk.offset, length: chunk.length, sha256: chunk.sha256, place })
    }
    while (pending.length > 0) await writeOldest()
  } finally {
    await Promise.allSettled(pending.map((p) => p.compressed))
    await pack.close()
  }
  const chunks: BlockMapChunk[] = order.map((c) => [c.offset, c.length, c.sha256, c.place.at, c.place.length])
  const map = BlockMapSchema.parse({
    schema: BLOCKMAP_SCHEMA_VERSION,
    product: PRODUCT,
    version: o.version,
    platform: o.platform,
    chunking: { algorithm: CHUNKING_ALGORITHM, min: CHUNK_MIN, avg: CHUNK_AVG, max: CHUNK_MAX },
    binary: { size: binarySize, sha256: binaryHash.digest('hex') },
    pack: { name: names.pack, size: packSize, sha256: packHash.digest('hex'), compression: PACK_COMPRESSION },
    chunks,
  } satisfies BlockMap)
  await writeFile(join(o.outDir, names.blockmap), `${JSON.stringify(map)}\n`, { mode: 0o644 })
  return { blockmap: join(o.outDir, names.blockmap), pack: packPath, map }
}
