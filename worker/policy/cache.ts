// HTTP caching rules of the manifest: the strong ETag, If-None-Match matching and the
// Cache-Control values served to hosts and used for the edge cache's own copy.

/**
 * What hosts and proxies see: one minute fresh, so a new release reaches everyone within a
 * minute of the edge cache being refreshed, and a day of stale-if-error so an outage of the
 * broker's storage does not stop hosts from checking (they re-verify signature and expiry).
 * No `public`: a manifest request carries no Authorization, so shared caches may store the
 * answer on `max-age` alone (RFC 9111 §3), and a 304 must repeat this header (RFC 9110
 * §15.4.5), where its 8 bytes are 2 % of the exchange.
 */
export const MANIFEST_CACHE_CONTROL = 'max-age=60, stale-if-error=86400'

/**
 * The edge cache's own copy lives one minute. After a change the broker deletes the copy in
 * its own colo; other colos serve their copy until it expires, then refill it from KV (whose
 * own read cache adds up to KV_CACHE_TTL_SECONDS, see README "Caching and consistency").
 */
export const EDGE_CACHE_CONTROL = 'public, max-age=60'

/**
 * How long a colo may keep a KV read of a manifest (`cacheTtl`): 30 s, the least Cloudflare
 * accepts (the default is 60). A copy cached here just before a change can still be put into
 * the edge cache for another minute, so this adds directly to the convergence bound.
 */
export const KV_CACHE_TTL_SECONDS = 30

/** Strong ETag: the quoted sha256 hex of the exact bytes served. */
export async function strongEtag(body: string): Promise<string> {
  return `"${await sha256Hex(body)}"`
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so `W/"x"` matches `"x"`; the
 * header may list several tags or be `*`.
 */
export function ifNoneMatchMatches(header: string | null | undefined, etag: string): boolean {
  if (!header) return false
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare)
}

/** Whether a request asks to bypass caches (`Cache-Control: no-cache` or `max-age=0`, `Pragma: no-cache`). */
export function wantsFresh(cacheControl: string | undefined, pragma: string | undefined): boolean {
  const directives = (cacheControl ?? '').toLowerCase().split(',').map((d) => d.trim())
  return directives.includes('no-cache') || directives.includes('max-age=0') || (pragma ?? '').toLowerCase().includes('no-cache')
}
