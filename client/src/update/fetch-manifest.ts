// GET /v1/channels/{channel}/manifest with If-None-Match, reading at most 64 KiB.
import { MANIFEST_MAX_BYTES, MANIFEST_MEDIA_TYPE } from '../../../contract/manifest.ts'
import { ErrorBodySchema } from '../../../contract/api.ts'
import { CliError, NetworkError, RefusedError } from '../errors.ts'
import { discardBody, networkError, readBodyCapped, type HttpClient } from '../system/http.ts'
import { redactUrl } from '../system/url-policy.ts'

export type FetchedManifest = { notModified: false; bytes: Buffer; etag: string | null } | { notModified: true }

export const MANIFEST_DEADLINE_MS = 60_000

export function manifestUrl(server: string, channel: string): URL {
  const base = new URL(server)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return new URL(`v1/channels/${encodeURIComponent(channel)}/manifest`, base)
}

export interface FetchManifestOptions {
  /** Ask past the broker's edge cache and KV copies (`Cache-Control: no-cache`). */
  fresh?: boolean
}

export async function fetchManifest(http: HttpClient, server: string, channel: string, etag: string | null, options: FetchManifestOptions = {}): Promise<FetchedManifest> {
  const url = manifestUrl(server, channel)
  const headers: Record<string, string> = { accept: MANIFEST_MEDIA_TYPE }
  if (etag) headers['if-none-match'] = etag
  if (options.fresh) headers['cache-control'] = 'no-cache'
  const res = await http.get(url, { headers, signal: AbortSignal.timeout(MANIFEST_DEADLINE_MS) })
  const tooLarge = () => new RefusedError('size', `Manifest refused (size): more than the ${MANIFEST_MAX_BYTES}-byte limit`)
  try {
    if (res.status === 304 && etag) {
      await res.body.dump()
      return { notModified: true }
    }
    if (res.status !== 200) {
      const body = await readBodyCapped(res.body, 8 * 1024, () => new NetworkError(`broker answered HTTP ${res.status} for ${redactUrl(url)}`))
      let detail = ''
      try {
        const parsed = ErrorBodySchema.safeParse(JSON.parse(body.toString('utf8')))
        if (parsed.success) detail = `: ${parsed.data.error.message}`
      } catch {}
      throw new NetworkError(`broker answered HTTP ${res.status} for ${redactUrl(url)}${detail}`)
    }
    const announced = res.headers['content-length']
    if (typeof announced === 'string' && Number(announced) > MANIFEST_MAX_BYTES) {
      discardBody(res.body)
      throw tooLarge()
    }
    const length = typeof announced === 'string' && /^\d+$/.test(announced) ? Number(announced) : undefined
    const bytes = await readBodyCapped(res.body, MANIFEST_MAX_BYTES, tooLarge, length)
    const newEtag = typeof res.headers.etag === 'string' ? res.headers.etag : null
    return { notModified: false, bytes, etag: newEtag }
  } catch (err) {
    if (err instanceof CliError) throw err
    throw networkError(err, res.url, http.proxyFor(res.url))
  }
}
