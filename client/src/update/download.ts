// Streams a release archive into the private temp dir, hashing as it goes, never accepting a
// byte more than the manifest's size, within a total deadline and a stall timeout. A transfer
// that breaks off mid-body (a restarted download host, a dropped proxy connection) is retried
// once, resuming with `Range` where the server supports it and starting over where it does not;
// the sha256 covers the whole file either way.
import { createHash, type Hash } from 'node:crypto'
import { open, rm, type FileHandle } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { CliError, NetworkError, RefusedError } from '../errors.ts'
import { discardBody, networkError, type HttpClient, type HttpResponse } from '../system/http.ts'
import { redactUrl } from '../system/url-policy.ts'
import { installWriteError } from './binary-files.ts'

export interface DownloadOptions {
  http: HttpClient
  url: string
  /** Exact size and digest from the verified manifest. */
  size: number
  sha256: string
  /** The file to create (inside the private temp dir). */
  dest: string
  /** Deadline for the whole download, retry included; default 10 minutes or 50 KB/s, whichever is longer. */
  totalTimeoutMs?: number
  /** Longest time without a single byte (also the wait for the response headers). */
  stallTimeoutMs?: number
  /** Pause before the one retry of a transfer that broke off (default 1 s). */
  retryDelayMs?: number
  onProgress?: (received: number, total: number) => void
  /**
   * Each chunk while it is being written, with its offset in the file (a transfer that starts
   * over starts again at 0), to extract while downloading; awaited with the write, so a slow
   * consumer slows the download instead of buffering it. Nothing it sees is verified until this
   * function returns.
   */
  onData?: (chunk: Buffer, offset: number) => void | Promise<void>
}

export const DOWNLOAD_RETRY_DELAY_MS = 1000

export function defaultDownloadDeadlineMs(size: number): number {
  return Math.max(10 * 60_000, Math.ceil(size / 50_000) * 1000)
}

function checksumFailure(message: string): RefusedError {
  return new RefusedError('digest', `Checksum verification failed: ${message}`)
}

/** `bytes <first>-<last>/<total or *>` → its numbers, or null. */
function parseContentRange(value: string | string[] | undefined): { first: number; last: number; total: number | null } | null {
  const m = typeof value === 'string' ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null
  return m ? { first: Number(m[1]), last: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) } : null
}

/** A strong validator for `If-Range`, so a resumed transfer never mixes two versions of a file. */
function validatorOf(res: HttpResponse): string | undefined {
  const etag = res.headers.etag
  if (typeof etag === 'string' && etag.startsWith('"')) return etag
  const modified = res.headers['last-modified']
  return typeof modified === 'string' ? modified : undefined
}

export async function downloadArtifact(o: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const stall = o.stallTimeoutMs ?? 30_000
  const signal = AbortSignal.timeout(o.totalTimeoutMs ?? defaultDownloadDeadlineMs(o.size))
  let hash: Hash = createHash('sha256')
  let received = 0
  let validator: string | undefined
  /** Why the first attempt broke off, once it did. */
  let interruption: string | null = null
  let file: FileHandle | undefined
  try {
    for (;;) {
      const resuming = interruption !== null && received > 0
      const headers: Record<string, string> = resuming ? { range: `bytes=${received}-`, ...(validator ? { 'if-range': validator } : {}) } : {}
      let res: HttpResponse
      try {
        res = await o.http.get(o.url, { signal, headersTimeoutMs: stall, bodyTimeoutMs: stall, headers })
      } catch (err) {
        throw failure(o, err, interruption)
      }

      if (resuming && res.status === 206) {
        // The server resumed: it must be exactly the rest of this file.
        const range = parseContentRange(res.headers['content-range'])
        if (!range || range.first !== received || range.last !== o.size - 1 || (range.total !== null && range.total !== o.size)) {
          discardBody(res.body)
          throw failure(o, new NetworkError(`Download failed: ${redactUrl(res.url)} resumed with Content-Range ${JSON.stringify(res.headers['content-range'] ?? null)}, expected bytes ${received}-${o.size - 1}/${o.size}`), interruption)
        }
      } else if (res.status === 200) {
        // A full body: the first attempt, or a server that ignored Range (start over).
        const announced = res.headers['content-length']
        if (typeof announced === 'string' && /^\d+$/.test(announced) && Number(announced) !== o.size) {
          discardBody(res.body)
          throw checksumFailure(`the server announced ${announced} bytes but the manifest says ${o.size} (not the release archive?)`)
        }
        if (received > 0) {
          received = 0
          hash = createHash('sha256')
          await file!.truncate(0).catch((err: unknown) => {
            throw installWriteError(o.dest, err)
          })
        }
        validator ??= validatorOf(res)
      } else {
        await res.body.dump().catch(() => {})
        throw failure(o, new NetworkError(`Download failed: HTTP ${res.status} from ${redactUrl(res.url)}`), interruption)
      }
      file ??= await open(o.dest, 'wx', 0o600).catch((err: unknown) => {
        throw installWriteError(o.dest, err)
      })

      try {
        for await (const chunk of res.body) {
          const buf = chunk as Buffer
          // Refuse endless data as soon as it passes the signed size, not after filling the disk.
          if (received + buf.length > o.size) {
            discardBody(res.body)
            throw checksumFailure(`received more than the manifest's ${o.size} bytes`)
          }
          hash.update(buf)
          // The write runs on the thread pool while onData extracts the same chunk here; both
          // are awaited before the next chunk. A full disk is not a network problem: say what
          // could not be written (exit 1).
          const written = file.write(buf, 0, buf.length, received).catch((err: unknown) => {
            throw installWriteError(o.dest, err)
          })
          const offset = received
          received += buf.length
          o.onProgress?.(received, o.size)
          // allSettled, not all: a failed onData must not leave this write running unawaited.
          const [w, d] = await Promise.allSettled([written, o.onData?.(buf, offset)])
          if (w.status === 'rejected') throw w.reason
          if (d.status === 'rejected') throw d.reason
        }
      } catch (err) {
        if (err instanceof CliError) throw err
        // Some proxies (tinyproxy among them) close the client connection the moment the
        // origin's response ends, and undici can report that close as an error although every
        // byte arrived. The signed size and digest below decide whether what arrived is the release.
        if (received !== o.size) {
          const broke = networkError(err, res.url, o.http.proxyFor(res.url))
          if (interruption !== null || signal.aborted) throw failure(o, broke, interruption)
          // Broke off mid-body: one more try, after a pause (a restarting host needs a moment).
          interruption = `the transfer broke off at ${received} of ${o.size} bytes: ${broke.message}`
          await sleep(o.retryDelayMs ?? DOWNLOAD_RETRY_DELAY_MS, undefined, { signal }).catch((e: unknown) => {
            throw failure(o, e, interruption)
          })
          continue
        }
      }
      break
    }

    if (received !== o.size) throw checksumFailure(`received ${received} of ${o.size} bytes (truncated download)`)
    const digest = hash.digest('hex')
    if (digest !== o.sha256) throw checksumFailure(`sha256 is ${digest}, the signed manifest says ${o.sha256}`)
    await file!.close()
    return { bytes: received, sha256: digest }
  } catch (err) {
    await file?.close().catch(() => {})
    await rm(o.dest, { force: true })
    throw err
  }
}

/** The error of the last attempt; after a retry, it also says why the first one broke off. */
function failure(o: DownloadOptions, err: unknown, interruption: string | null): CliError {
  const url = new URL(o.url)
  const e = err instanceof CliError ? err : networkError(err, url, o.http.proxyFor(url))
  if (interruption === null || !(e instanceof NetworkError)) return e
  return new NetworkError(`${e.message} (on the retry after ${interruption})`, { cause: err })
}
