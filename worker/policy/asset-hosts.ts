// Whether a release asset URL may be recorded and redirected to: it follows the broker's one
// URL rule (policy/url-policy.ts: `https:`, plain `http:` only for loopback hosts, so that
// local tests and `wrangler dev` can use a stand-in download server; no credentials, no
// control characters) and its host is listed in ASSET_HOSTS.
import type { AssetHost } from '../config.ts'
import { checkUrl } from './url-policy.ts'

/** Null when the URL is acceptable, else why not (for the refusal reason). */
export function assetUrlProblem(raw: string, allowed: readonly AssetHost[]): string | null {
  const checked = checkAssetUrl(raw, allowed)
  return checked.ok ? null : checked.problem
}

/** The parsed URL (its `href` is the normalized, ASCII-only form to record), or why not. */
export function checkAssetUrl(raw: string, allowed: readonly AssetHost[]): { ok: true; url: URL } | { ok: false; problem: string } {
  const checked = checkUrl(raw)
  if (!checked.ok) return checked
  const url = checked.url
  const host = url.hostname.toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  const listed = allowed.some((h) => h.hostname === host && (h.port === null || h.port === port))
  return listed ? checked : { ok: false, problem: `is on ${url.host}, which is not in ASSET_HOSTS` }
}
