// GETs a release asset URL for the Durable Object's alarm, following redirects by hand so that
// every hop is checked against ASSET_HOSTS (GitHub redirects downloads to its CDN). Used for
// checksums files, block maps and the asset mirror's copies.
import type { AssetHost } from '../config.ts'
import { assetUrlProblem } from '../policy/asset-hosts.ts'
import { readCapped } from '../read-capped.ts'

const MAX_REDIRECTS = 5

export type AllowedFetch =
  | { ok: true; res: Response }
  /** `retry: false` for answers that another attempt cannot change (a host not allowed). */
  | { ok: false; error: string; retry: boolean }

/** The final response (any status but a redirect); the caller reads or cancels its body. */
export async function fetchOnAssetHosts(url: string, assetHosts: readonly AssetHost[], init: { signal: AbortSignal; accept: string }): Promise<AllowedFetch> {
  let current = url
  for (let hop = 0; ; hop++) {
    const problem = assetUrlProblem(current, assetHosts)
    if (problem) return { ok: false, error: `${hop === 0 ? 'URL' : 'redirect target'} ${problem}`, retry: false }
    const headers = { accept: init.accept, 'user-agent': 'cco-release-broker' }
    const res = await fetch(current, { redirect: 'manual', signal: init.signal, headers })
    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel()
      if (hop >= MAX_REDIRECTS) return { ok: false, error: 'too many redirects', retry: false }
      current = new URL(res.headers.get('location')!, current).href
      continue
    }
    return { ok: true, res }
  }
}

export type CappedFetch = { ok: true; bytes: Uint8Array } | { ok: false; error: string; retry: boolean }

/**
 * A small file's whole body (a checksums file, a block map): on ASSET_HOSTS at every hop, the
 * whole exchange within `timeoutMs`, at most `maxBytes` read (counted as they arrive). Network
 * errors, timeouts and non-2xx answers may pass with another attempt (`retry: true`); a host
 * off the list or a body over the cap will not.
 */
export async function fetchCapped(url: string, assetHosts: readonly AssetHost[], o: { maxBytes: number; timeoutMs: number; accept: string }): Promise<CappedFetch> {
  const signal = AbortSignal.timeout(o.timeoutMs)
  try {
    const fetched = await fetchOnAssetHosts(url, assetHosts, { signal, accept: o.accept })
    if (!fetched.ok) return fetched
    const res = fetched.res
    if (!res.ok) {
      await res.body?.cancel()
      return { ok: false, error: `HTTP ${res.status}`, retry: true }
    }
    const bytes = await readCapped(res.body, o.maxBytes, res.headers.get('content-length'))
    if (bytes === null) return { ok: false, error: `larger than ${o.maxBytes} bytes`, retry: false }
    return { ok: true, bytes }
  } catch (err) {
    const timedOut = signal.aborted
    return { ok: false, error: timedOut ? `no answer within ${o.timeoutMs / 1000} s` : `network error: ${(err as Error).message}`, retry: true }
  }
}
