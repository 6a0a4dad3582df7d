// Reading a chunk pack the way a client does, for tests of the release side: each chunk of a
// block map inflated alone from its place in the pack and checked against its sha256.
import { createHash } from 'node:crypto'
import { inflateRawSync } from 'node:zlib'
import type { BlockMap } from '../../contract/blockmap.ts'

/** The binary a block map describes, from its pack; throws naming the first chunk that does not match. */
export function rebuildFromPack(map: BlockMap, pack: Buffer): Buffer {
  const parts: Buffer[] = []
  for (const [i, [offset, length, sha256, packOffset, packLength]] of map.chunks.entries()) {
    const bytes = inflateRawSync(pack.subarray(packOffset, packOffset + packLength))
    const got = createHash('sha256').update(bytes).digest('hex')
    if (bytes.length !== length || got !== sha256) throw new Error(`chunk ${i} at ${offset}: ${bytes.length} bytes with sha256 ${got}, the block map says ${length} bytes, ${sha256}`)
    parts.push(bytes)
  }
  return Buffer.concat(parts)
}
