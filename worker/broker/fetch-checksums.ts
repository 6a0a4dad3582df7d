// Downloads a release's checksums file for the Durable Object's alarm: every redirect hop
// must stay on ASSET_HOSTS, the whole exchange has a deadline and the body a size cap.
import type { AssetHost } from '../config.ts'
import { CHECKSUMS_MAX_BYTES } from '../policy/checksums.ts'
import { readCapped } from '../read-capped.ts'
import { fetchOnAssetHosts } from './fetch-allowed.ts'

export const CHECKSUMS_TIMEOUT_MS = 10_000

export type ChecksumsFetch =
  | { ok: true; text: string }
  /** `retry: false` for answers that another attempt cannot change (host, size). */
  | { ok: false; error: string; retry: boolean }

export async function fetchChecksums(url: string, assetHosts: readonly AssetHost[]): Promise<ChecksumsFetch> {
  const signal = AbortSignal.timeout(CHECKSUMS_TIMEOUT_MS)
  try {
    const fetched = await fetchOnAssetHosts(url, assetHosts, { signal, accept: 'application/octet-stream, text/plain' })
    if (!fetched.ok) return fetched
    const res = fetched.res
    if (!res.ok) {
      await res.body?.cancel()
      return { ok: false, error: `HTTP ${res.status}`, retry: true }
    }
    const bytes = await readCapped(res.body, CHECKSUMS_MAX_BYTES, res.headers.get('content-length'))
    if (bytes === null) return { ok: false, error: `larger than ${CHECKSUMS_MAX_BYTES} bytes`, retry: false }
    return { ok: true, text: new TextDecoder().decode(bytes) }
  } catch (err) {
    const timedOut = signal.aborted
    return { ok: false, error: timedOut ? `no answer within ${CHECKSUMS_TIMEOUT_MS / 1000} s` : `network error: ${(err as Error).message}`, retry: true }
  }
}
