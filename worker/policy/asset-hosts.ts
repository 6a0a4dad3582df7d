// Whether a release asset URL may be recorded and redirected to: `https:` on a host listed in
// ASSET_HOSTS. Plain `http:` is accepted only for loopback hosts, so that local tests and
// `wrangler dev` can use a stand-in download server; it is never accepted for a real host.
import type { AssetHost } from '../config.ts'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** Null when the URL is acceptable, else why not (for the refusal reason). */
export function assetUrlProblem(raw: string, allowed: readonly AssetHost[]): string | null {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return 'is not a valid URL'
  }
  if (url.username || url.password) return 'carries credentials'
  const host = url.hostname.toLowerCase()
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(host))) {
    return `uses ${url.protocol.replace(/:$/, '')}, not https`
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const listed = allowed.some((h) => h.hostname === host && (h.port === null || h.port === port))
  return listed ? null : `is on ${url.host}, which is not in ASSET_HOSTS`
}
