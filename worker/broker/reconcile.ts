// Lists the repository's releases through GitHub's REST API for reconciliation: GitHub does
// not retry failed webhook deliveries, so the scheduled run catches up on what was missed.
// Conditional (If-None-Match): an unchanged list is a 304, which costs nothing. Every element
// is validated with the schema the webhook uses; any failure is reported, never half-applied.
import * as z from 'zod/mini'
import { firstIssue } from '../../contract/issues.ts'
import { GithubReleaseSchema, type GithubRelease } from '../policy/github-release.ts'
import { checkUrl } from '../policy/url-policy.ts'
import { readCapped } from '../read-capped.ts'

export const RECONCILE_TIMEOUT_MS = 15_000
const MAX_REDIRECTS = 3
/** A page of 100 releases with their assets is a few hundred KiB; this is far above. */
export const RELEASES_MAX_BYTES = 16 * 1024 * 1024

export interface ListOptions {
  apiUrl: string
  /** `owner/name`. */
  repository: string
  /** The optional GITHUB_TOKEN secret (private repositories, higher rate limit). */
  token?: string
  /** The ETag of the last list that was applied. */
  etag: string | null
}

export type ReleaseList =
  | { kind: 'not-modified' }
  /** `complete`: GitHub announced no further page, so a release missing here is gone. */
  | { kind: 'listed'; url: string; releases: GithubRelease[]; complete: boolean; etag: string | null }
  | { kind: 'failed'; error: string }

const ReleaseListSchema = z.array(GithubReleaseSchema)

export function releasesUrl(apiUrl: string, repository: string): string {
  return `${apiUrl}/repos/${repository}/releases?per_page=100`
}

export async function listGithubReleases(o: ListOptions): Promise<ReleaseList> {
  const url = releasesUrl(o.apiUrl, o.repository)
  const headers: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'cco-release-broker',
  }
  if (o.token) headers.authorization = `Bearer ${o.token}`
  if (o.etag) headers['if-none-match'] = o.etag
  const signal = AbortSignal.timeout(RECONCILE_TIMEOUT_MS)
  try {
    const answer = await fetchFollowingSameOrigin(url, { headers, signal })
    if (!answer.ok) return { kind: 'failed', error: `GET ${url}: ${answer.error}` }
    const res = answer.res
    if (res.status === 304) {
      await res.body?.cancel()
      return { kind: 'not-modified' }
    }
    if (res.status !== 200) {
      await res.body?.cancel()
      return { kind: 'failed', error: `GET ${url}: HTTP ${res.status}` }
    }
    const bytes = await readCapped(res.body, RELEASES_MAX_BYTES, res.headers.get('content-length'))
    if (bytes === null) return { kind: 'failed', error: `GET ${url}: body over ${RELEASES_MAX_BYTES} bytes` }
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      return { kind: 'failed', error: `GET ${url}: the body is not JSON` }
    }
    const parsed = ReleaseListSchema.safeParse(json)
    if (!parsed.success) return { kind: 'failed', error: `GET ${url}: unexpected body at ${firstIssue(parsed.error)}` }
    const complete = !/rel="?next"?/.test(res.headers.get('link') ?? '')
    return { kind: 'listed', url, releases: parsed.data, complete, etag: res.headers.get('etag') }
  } catch (err) {
    // The message of a fetch failure names the URL at most, never the token.
    return { kind: 'failed', error: `GET ${url}: ${signal.aborted ? `no answer within ${RECONCILE_TIMEOUT_MS / 1000} s` : `network error: ${(err as Error).message}`}` }
  }
}

/**
 * GitHub answers a renamed repository with a redirect to `/repositories/<id>/…`. Redirects are
 * followed by hand: each hop must follow the URL rule (policy/url-policy.ts) and stay on the
 * API's origin, so the token is never sent anywhere else and never over plain http.
 */
async function fetchFollowingSameOrigin(url: string, init: { headers: Record<string, string>; signal: AbortSignal }): Promise<{ ok: true; res: Response } | { ok: false; error: string }> {
  const origin = new URL(url).origin
  let current = url
  for (let hop = 0; ; hop++) {
    const res = await fetch(current, { headers: init.headers, signal: init.signal, redirect: 'manual' })
    const location = res.headers.get('location')
    if (res.status < 300 || res.status >= 400 || location === null) return { ok: true, res }
    await res.body?.cancel()
    if (hop >= MAX_REDIRECTS) return { ok: false, error: 'too many redirects' }
    let next: URL
    try {
      next = new URL(location, current)
    } catch {
      return { ok: false, error: 'redirect to an invalid URL' }
    }
    const checked = checkUrl(next.href)
    if (!checked.ok) return { ok: false, error: `redirect target ${checked.problem}` }
    if (checked.url.origin !== origin) return { ok: false, error: `redirect to ${checked.url.origin} refused (only ${origin} is asked, with the token)` }
    current = checked.url.href
  }
}
