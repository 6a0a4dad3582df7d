// The one rule for every URL the broker is configured with (PUBLIC_URL, GITHUB_API_URL,
// OIDC_ISSUER, OIDC_JWKS_URL) or records from a release (asset and checksums downloads, their
// redirect hops, the notes link): `https:`, or plain `http:` only to a loopback host
// (localhost, 127.0.0.0/8, [::1]) for tests and `wrangler dev`; never credentials; never a
// control character or a space, which the URL parser would silently drop or re-encode, so the
// URL used would not be the one written. Pure.
import { firstControlChar } from './control-chars.ts'

export type UrlCheck = { ok: true; url: URL } | { ok: false; problem: string }

/**
 * localhost, 127.0.0.0/8 and ::1, as the URL parser writes hostnames (`127.1` and
 * `0x7f000001` already come out as `127.0.0.1`). `localhost.example.com`, `127.0.0.1.nip.io`
 * and `0.0.0.0` are not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase()
  if (h === 'localhost' || h === '[::1]') return true
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h)
  return m !== null && m.slice(1).every((n) => Number(n) <= 255)
}

/** The parsed URL when it follows the rule, else what is wrong (`uses http, not https`). */
export function checkUrl(raw: string): UrlCheck {
  const control = firstControlChar(raw)
  if (control) return { ok: false, problem: `contains ${control}` }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, problem: 'is not a valid URL' }
  }
  if (raw.includes(' ')) return { ok: false, problem: 'contains a space' }
  if (url.username || url.password) return { ok: false, problem: 'carries credentials' }
  if (url.protocol === 'https:') return { ok: true, url }
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return { ok: true, url }
  return { ok: false, problem: `uses ${url.protocol.replace(/:$/, '')}, not https` }
}

/** The text with any `user:password@` of a URL replaced by `***@`, for messages (even when it does not parse). */
export function redactCredentials(text: string): string {
  return text.replace(/\/\/[^\s/?#]*@/g, '//***@').replace(/^(\s*)[^\s/?#:]*:[^\s/?#]*@/, '$1***@')
}
