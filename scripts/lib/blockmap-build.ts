// The differential assets of one release archive (contract/README.md, "Block maps and chunk
// packs"): `X.chunks`, each distinct chunk of the binary once, in order of first appearance,
// compressed on its own with raw DEFLATE; and `X.blockmap.json`, every chunk in binary order
// with its offset, length, sha256 and place in the pack.
import { createHash } from 'node:crypto'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateRawSync, constants } from 'node:zlib'
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

/** Writes `X.blockmap.json` and `X.chunks` for the archive `archiveName` holding `binary`, into `outDir`. */
export async function writeDeltaAssets(o: { binary: string; archiveName: string; outDir: string; version: string; platform: string }): Promise<DeltaAssets> {
  const names = deltaAssetNames(o.archiveName)
  if (!names) throw new Error(`writeDeltaAssets: ${o.archiveName} is not an archive name`)
  const packPath = join(o.outDir, names.pack)
  const pack = await open(packPath, 'w', 0o644)
  const binaryHash = createHash('sha256')
  const packHash = createHash('sha256')
  const stored = new Map<string, { at: number; length: number }>()
  const chunks: BlockMapChunk[] = []
  let packSize = 0
  let binarySize = 0
  try {
    for await (const chunk of chunkFile(o.binary)) {
      binaryHash.update(chunk.bytes)
      binarySize += chunk.length
      let place = stored.get(chunk.sha256)
      if (!place) {
        const compressed = deflateRawSync(chunk.bytes, { level: constants.Z_BEST_COMPRESSION })
        await pack.write(compressed, 0, compressed.length, packSize)
        packHash.update(compressed)
        place = { at: packSize, length: compressed.length }
        stored.set(chunk.sha256, place)
        packSize += compressed.length
      }
      chunks.push([chunk.offset, chunk.length, chunk.sha256, place.at, place.length])
    }
  } finally {
    await pack.close()
  }
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
