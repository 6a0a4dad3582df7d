// GETs a release asset URL for the Durable Object's alarm, following redirects by hand so that
// every hop is checked against ASSET_HOSTS (GitHub redirects downloads to its CDN). Used for
// checksums files and for the asset mirror's copies.
import type { AssetHost } from '../config.ts'
import { assetUrlProblem } from '../policy/asset-hosts.ts'

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
