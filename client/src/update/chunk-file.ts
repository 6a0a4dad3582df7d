// Cuts a file into the chunks of `fastcdc-gear32-v1` (contract/blockmap.ts), reading it in
// pieces so that a 121 MiB binary never sits in memory whole. The release build writes block
// maps with it and the client chunks its own binary with it: one rule, one reader.
import { createHash } from 'node:crypto'
import { open } from 'node:fs/promises'
import { CHUNK_MAX, nextCut } from '../../../contract/blockmap.ts'

export interface FileChunk {
  offset: number
  length: number
  sha256: string
  /** The chunk's bytes: valid only until the generator is resumed (copy to keep them). */
  bytes: Buffer
}

/** Bytes read per call; several CHUNK_MAX so that a cut rarely needs a second read. */
const READ_BYTES = 4 * 1024 * 1024

/** Every chunk of the file at `path`, in order, with its sha256. */
export async function* chunkFile(path: string): AsyncGenerator<FileChunk> {
  const file = await open(path, 'r')
  try {
    // `buffer[0, filled)` holds the file from `base`; `start` is where the next chunk begins.
    let buffer = Buffer.allocUnsafe(READ_BYTES + CHUNK_MAX)
    let filled = 0
    let start = 0
    let base = 0
    let eof = false
    for (;;) {
      if (!eof && filled - start < CHUNK_MAX) {
        // Move what is left to the front and fill the rest.
        if (start > 0) {
          buffer.copy(buffer, 0, start, filled)
          base += start
          filled -= start
          start = 0
        }
        if (filled === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(READ_BYTES)])
        const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, base + filled)
        if (bytesRead === 0) eof = true
        filled += bytesRead
        continue
      }
      if (start === filled) return
      const cut = nextCut(buffer, start, filled, eof)
      const bytes = buffer.subarray(start, cut)
      yield { offset: base + start, length: cut - start, sha256: createHash('sha256').update(bytes).digest('hex'), bytes }
      start = cut
    }
  } finally {
    await file.close()
  }
}
