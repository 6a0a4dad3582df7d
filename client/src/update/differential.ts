// A differential update (client/README.md, "Differential updates"): the new binary rebuilt in
// the private temp dir from the chunks of the installed one and the missing chunks, fetched by
// range from the release's chunk pack. It ends where an extraction ends, with the binary's size
// and sha256 checked against the signed manifest before the file is made executable; the probe,
// journal, commit and rollback that follow are the archive path's. Anything unexpected makes it
// give up (removing what it wrote) with a reason, and the caller downloads the archive.
import { createHash } from 'node:crypto'
import { open, rm, type FileHandle } from 'node:fs/promises'
import { inflateRawSync } from 'node:zlib'
import { BLOCKMAP_MAX_BYTES, BlockMapSchema, type BlockMap } from '../../../contract/blockmap.ts'
import type { BinaryDelta } from '../../../contract/manifest.ts'
import { sameVersion } from '../../../contract/version.ts'
import { messageOf } from '../errors.ts'
import { discardBody, networkError, type HttpClient, type HttpResponse } from '../system/http.ts'
import type { ProgressBar } from '../system/progress.ts'
import { chunkFile } from './chunk-file.ts'
import { defaultDownloadDeadlineMs } from './download.ts'
import { planRanges, type MissingChunk, type PackRange } from './differential-plan.ts'
import type { Extracted } from './extract.ts'

/** Range requests in flight at once: enough to hide a proxy's round trips, few enough to be polite. */
const PARALLEL_RANGES = 4
/** Installed bytes copied per read when consecutive chunks sit together in both binaries. */
const COPY_RUN_BYTES = 4 * 1024 * 1024

export interface DifferentialOptions {
  http: HttpClient
  /** The signed manifest's `binary` of the asset. */
  delta: BinaryDelta
  version: string
  platform: string
  /** The archive's size: the differential is used only when it costs at most half of it. */
  archiveSize: number
  /** The installed binary (a regular file). */
  installed: string
  /** The file to create in the private temp dir (where extraction would write the binary). */
  dest: string
  stallTimeoutMs?: number
  totalTimeoutMs?: number
  /** The progress bar for the bytes to transfer (block map and ranges), when there is one. */
  progress?: (label: string, total: number) => ProgressBar
  label: string
}

export type DifferentialOutcome =
  | { kind: 'installed'; extracted: Extracted; bytes: number }
  /** Not used: why (for the one line the caller prints), and what was transferred anyway. */
  | { kind: 'not-used'; reason: string; bytes: number }

/** Why the differential path stopped: a plain reason, shown after "Differential update not used: ". */
class NotUsed extends Error {}

/** `41.7 MiB`, `152 KiB`. */
export function formatBytes(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`
}

export async function installDifferential(o: DifferentialOptions): Promise<DifferentialOutcome> {
  const received = { bytes: 0 }
  let bar: ProgressBar | undefined
  const deadline = AbortSignal.timeout(o.totalTimeoutMs ?? defaultDownloadDeadlineMs(o.archiveSize))
  const stall = o.stallTimeoutMs ?? 30_000
  try {
    const map = await fetchBlockMap(o, received, deadline, stall)
    const local = await indexInstalled(o.installed, map)
    const plan = planRanges(map, local)
    const total = o.delta.blockmap.size + plan.bytes
    // Decided: a differential that saves less than half the archive is not worth its requests.
    if (total > o.archiveSize / 2) {
      throw new NotUsed(`the block map and the ${plan.missing.length} missing chunks (${formatBytes(total)}) are more than half the archive`)
    }
    bar = o.progress?.(o.label, total)
    bar?.update(received.bytes)
    const fetched = await fetchRanges(o, plan.ranges, plan.missing, map, received, deadline, stall, (n) => bar?.update(n))
    const extracted = await writeBinary(o, map, local, fetched)
    return { kind: 'installed', extracted, bytes: received.bytes }
  } catch (err) {
    await rm(o.dest, { force: true }).catch(() => {})
    return { kind: 'not-used', reason: err instanceof NotUsed ? err.message : messageOf(err), bytes: received.bytes }
  } finally {
    bar?.stop()
  }
}

/**
 * Reads a body of `expected` bytes, counting what arrives, refusing more. A connection closed
 * right after the last byte is a complete body (some proxies close as the origin's answer ends,
 * see download.ts); the caller checks the length and the digests.
 */
async function readCounted(res: HttpResponse, proxy: string | null, expected: number, received: { bytes: number }, tooMuch: string, onData?: () => void): Promise<Buffer> {
  const parts: Buffer[] = []
  let length = 0
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer
      received.bytes += buf.length
      length += buf.length
      if (length > expected) {
        discardBody(res.body)
        throw new NotUsed(tooMuch)
      }
      parts.push(buf)
      onData?.()
    }
  } catch (err) {
    if (err instanceof NotUsed) throw err
    if (length !== expected) throw networkError(err, res.url, proxy)
  }
  return Buffer.concat(parts, length)
}

/** The block map: at most its signed size, its sha256 checked before parsing, then the schema and the manifest's facts. */
async function fetchBlockMap(o: DifferentialOptions, received: { bytes: number }, signal: AbortSignal, stall: number): Promise<BlockMap> {
  const ref = o.delta.blockmap
  if (ref.size > BLOCKMAP_MAX_BYTES) throw new NotUsed(`the block map is ${ref.size} bytes, more than ${BLOCKMAP_MAX_BYTES}`)
  const res = await o.http.get(ref.url, { signal, headersTimeoutMs: stall, bodyTimeoutMs: stall })
  if (res.status !== 200) {
    discardBody(res.body)
    throw new NotUsed(`the block map could not be fetched (HTTP ${res.status})`)
  }
  const bytes = await readCounted(res, o.http.proxyFor(res.url), ref.size, received, `the block map is larger than the manifest's ${ref.size} bytes`)
  const digest = createHash('sha256').update(bytes).digest('hex')
  if (bytes.length !== ref.size || digest !== ref.sha256) {
    throw new NotUsed(`the block map's sha256 does not match the signed manifest (${bytes.length} bytes, sha256 ${digest})`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new NotUsed('the block map is not JSON')
  }
  const result = BlockMapSchema.safeParse(parsed)
  if (!result.success) throw new NotUsed(`the block map is not one this client reads (${result.error.issues[0]?.message ?? 'schema'})`)
  const map = result.data
  const mismatch =
    !sameVersion(map.version, o.version) ? `version ${map.version}` :
    map.platform !== o.platform ? `platform ${map.platform}` :
    map.binary.size !== o.delta.size || map.binary.sha256 !== o.delta.sha256 ? 'another binary' :
    map.pack.size !== o.delta.pack.size || map.pack.sha256 !== o.delta.pack.sha256 ? 'another chunk pack' : null
  if (mismatch) throw new NotUsed(`the block map describes ${mismatch}, not the manifest's`)
  return map
}

/** Where each chunk of the new binary already is in the installed one (sha256 → offset). */
async function indexInstalled(path: string, map: BlockMap): Promise<Map<string, number>> {
  const wanted = new Set(map.chunks.map((c) => c[2]))
  const local = new Map<string, number>()
  for await (const chunk of chunkFile(path)) {
    if (wanted.has(chunk.sha256) && !local.has(chunk.sha256)) local.set(chunk.sha256, chunk.offset)
  }
  return local
}

/**
 * Fetches the ranges (a few at a time), each a single-range GET that must come back as 206 with
 * exactly the asked Content-Range, and checks every missing chunk in it: raw DEFLATE that
 * inflates to exactly its length and sha256. Returns the compressed bytes of each chunk.
 */
async function fetchRanges(
  o: DifferentialOptions,
  ranges: PackRange[],
  missing: MissingChunk[],
  map: BlockMap,
  received: { bytes: number },
  deadline: AbortSignal,
  stall: number,
  onProgress: (bytes: number) => void,
): Promise<Map<string, Buffer>> {
  const fetched = new Map<string, Buffer>()
  // The first failure stops the requests still running.
  const stop = new AbortController()
  const signal = AbortSignal.any([deadline, stop.signal])
  let next = 0
  const one = async (range: PackRange): Promise<Buffer> => {
    const last = range.end - 1
    const asked = `bytes ${range.start}-${last}/${map.pack.size}`
    const res = await o.http.get(o.delta.pack.url, { signal, headersTimeoutMs: stall, bodyTimeoutMs: stall, headers: { range: `bytes=${range.start}-${last}` } })
    if (res.status !== 206) {
      discardBody(res.body)
      throw new NotUsed(res.status === 200 ? 'the download server ignored Range (HTTP 200 instead of 206)' : `a range of the chunk pack was answered with HTTP ${res.status}`)
    }
    const answered = res.headers['content-range']
    if (answered !== asked) {
      discardBody(res.body)
      throw new NotUsed(`a range was answered with Content-Range ${JSON.stringify(answered ?? null)}, expected ${asked}`)
    }
    const length = range.end - range.start
    const body = await readCounted(res, o.http.proxyFor(res.url), length, received, `more bytes than asked for ${asked}`, () => onProgress(received.bytes))
    if (body.length !== length) throw new NotUsed(`${body.length} bytes arrived for ${asked}`)
    return body
  }
  const worker = async () => {
    while (next < ranges.length) {
      const range = ranges[next++]!
      const body = await one(range)
      // Check each chunk in it as soon as it arrives.
      for (const c of missing) {
        if (c.packOffset < range.start || c.packOffset + c.packLength > range.end) continue
        const packed = body.subarray(c.packOffset - range.start, c.packOffset - range.start + c.packLength)
        inflateChunk(packed, c)
        fetched.set(c.sha256, packed)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_RANGES, ranges.length) }, worker))
  } catch (err) {
    stop.abort()
    throw err
  }
  if (fetched.size !== missing.length) throw new NotUsed(`${missing.length - fetched.size} chunks were not in the ranges fetched`)
  return fetched
}

/** One chunk's bytes: raw DEFLATE that inflates to exactly its length, with its sha256. */
function inflateChunk(packed: Buffer, c: Pick<MissingChunk, 'sha256' | 'length'>): Buffer {
  let raw: Buffer
  try {
    raw = inflateRawSync(packed, { maxOutputLength: c.length })
  } catch (err) {
    throw new NotUsed(`chunk ${c.sha256.slice(0, 12)} does not inflate to its ${c.length} bytes (${messageOf(err)})`)
  }
  if (raw.length !== c.length || createHash('sha256').update(raw).digest('hex') !== c.sha256) {
    throw new NotUsed(`chunk ${c.sha256.slice(0, 12)} does not match its sha256 in the block map`)
  }
  return raw
}

/**
 * Writes the new binary as a 0600 file: runs of chunks the installed binary has are copied from
 * it, the others inflated from what was fetched, hashing as it goes. Only a file whose size and
 * sha256 are the signed manifest's is made executable and fsynced (as extraction does).
 */
async function writeBinary(o: DifferentialOptions, map: BlockMap, local: Map<string, number>, fetched: Map<string, Buffer>): Promise<Extracted> {
  const hash = createHash('sha256')
  let out: FileHandle | undefined
  let installed: FileHandle | undefined
  try {
    out = await open(o.dest, 'wx', 0o600)
    installed = await open(o.installed, 'r')
    let size = 0
    const write = async (bytes: Buffer) => {
      hash.update(bytes)
      let off = 0
      while (off < bytes.length) off += (await out!.write(bytes, off, bytes.length - off, size + off)).bytesWritten
      size += bytes.length
    }
    for (let i = 0; i < map.chunks.length; ) {
      const [, length, sha256] = map.chunks[i]!
      const from = local.get(sha256)
      if (from === undefined) {
        await write(inflateChunk(fetched.get(sha256)!, { sha256, length }))
        i++
        continue
      }
      // A run of chunks that follow each other in both binaries: one read.
      let runLength = length
      for (i++; i < map.chunks.length; i++) {
        const [, l, s] = map.chunks[i]!
        if (local.get(s) !== from + runLength || runLength + l > COPY_RUN_BYTES) break
        runLength += l
      }
      const buf = Buffer.allocUnsafe(runLength)
      const { bytesRead } = await installed.read(buf, 0, runLength, from)
      if (bytesRead !== runLength) throw new NotUsed('the installed binary changed while it was read')
      await write(buf)
    }
    const digest = hash.digest('hex')
    if (size !== o.delta.size || digest !== o.delta.sha256) {
      throw new NotUsed(`the rebuilt binary does not match the signed manifest (${size} bytes, sha256 ${digest})`)
    }
    // Verified: now executable, and durable before it is renamed over the installed one.
    await out.chmod(0o755)
    await out.sync()
    await out.close()
    out = undefined
    return { sha256: digest, size }
  } finally {
    await out?.close().catch(() => {})
    await installed?.close().catch(() => {})
  }
}
