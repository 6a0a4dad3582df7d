// Streams a release archive into the private temp dir, hashing as it goes, never accepting a
// byte more than the manifest's size, within a total deadline and a stall timeout.
import { createHash } from 'node:crypto'
import { open, rm } from 'node:fs/promises'
import { CliError, NetworkError, RefusedError } from '../errors.ts'
import { discardBody, networkError, type HttpClient } from '../system/http.ts'
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
  /** Deadline for the whole download; default 10 minutes or 50 KB/s, whichever is longer. */
  totalTimeoutMs?: number
  /** Longest time without a single byte (also the wait for the response headers). */
  stallTimeoutMs?: number
  onProgress?: (received: number, total: number) => void
}

export function defaultDownloadDeadlineMs(size: number): number {
  return Math.max(10 * 60_000, Math.ceil(size / 50_000) * 1000)
}

function checksumFailure(message: string): RefusedError {
  return new RefusedError('digest', `Checksum verification failed: ${message}`)
}

export async function downloadArtifact(o: DownloadOptions): Promise<{ bytes: number; sha256: string }> {
  const stall = o.stallTimeoutMs ?? 30_000
  const signal = AbortSignal.timeout(o.totalTimeoutMs ?? defaultDownloadDeadlineMs(o.size))
  const res = await o.http.get(o.url, { signal, headersTimeoutMs: stall, bodyTimeoutMs: stall })
  if (res.status !== 200) {
    await res.body.dump().catch(() => {})
    throw new NetworkError(`Download failed: HTTP ${res.status} from ${redactUrl(res.url)}`)
  }
  const announced = res.headers['content-length']
  if (typeof announced === 'string' && /^\d+$/.test(announced) && Number(announced) !== o.size) {
    discardBody(res.body)
    throw checksumFailure(`the server announced ${announced} bytes but the manifest says ${o.size} (not the release archive?)`)
  }

  const hash = createHash('sha256')
  let received = 0
  const file = await open(o.dest, 'wx', 0o600)
  try {
    try {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer
        received += buf.length
        // Refuse endless data as soon as it passes the signed size, not after filling the disk.
        if (received > o.size) {
          discardBody(res.body)
          throw checksumFailure(`received more than the manifest's ${o.size} bytes`)
        }
        hash.update(buf)
        // A full disk is not a network problem: say what could not be written (exit 1).
        await file.write(buf).catch((err: unknown) => {
          throw installWriteError(o.dest, err)
        })
        o.onProgress?.(received, o.size)
      }
    } catch (err) {
      if (err instanceof CliError) throw err
      // Some proxies (tinyproxy among them) close the client connection the moment the
      // origin's response ends, and undici can report that close as an error although every
      // byte arrived. The signed size and digest below decide whether what arrived is the release.
      if (received !== o.size) throw networkError(err, res.url, o.http.proxyFor(res.url))
    }

    if (received !== o.size) throw checksumFailure(`received ${received} of ${o.size} bytes (truncated download)`)
    const digest = hash.digest('hex')
    if (digest !== o.sha256) throw checksumFailure(`sha256 is ${digest}, the signed manifest says ${o.sha256}`)
    await file.close()
    return { bytes: received, sha256: digest }
  } catch (err) {
    await file.close().catch(() => {})
    await rm(o.dest, { force: true })
    throw err
  }
}
