// Lists the repository's releases through GitHub's REST API for reconciliation: GitHub does
// not retry failed webhook deliveries, so the scheduled run catches up on what was missed.
// Conditional (If-None-Match): an unchanged list is a 304, which costs nothing. Every element
// is validated with the schema the webhook uses; any failure is reported, never half-applied.
import * as z from 'zod/mini'
import { GithubReleaseSchema, type GithubRelease } from '../policy/github-release.ts'
import { readCapped } from '../read-capped.ts'

export const RECONCILE_TIMEOUT_MS = 15_000
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
    const res = await fetch(url, { headers, signal, redirect: 'follow' })
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
    if (!parsed.success) {
      const first = parsed.error.issues[0]
      return { kind: 'failed', error: `GET ${url}: unexpected body at ${first?.path.map(String).join('.') || '(root)'}: ${first?.message}` }
    }
    const complete = !/rel="?next"?/.test(res.headers.get('link') ?? '')
    return { kind: 'listed', url, releases: parsed.data, complete, etag: res.headers.get('etag') }
  } catch (err) {
    // The message of a fetch failure names the URL at most, never the token.
    return { kind: 'failed', error: `GET ${url}: ${signal.aborted ? `no answer within ${RECONCILE_TIMEOUT_MS / 1000} s` : `network error: ${(err as Error).message}`}` }
  }
}
