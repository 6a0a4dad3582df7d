// GET /v1/releases/{version}/manifest, reading at most 64 KiB. The broker's "no such release"
// answers (404 unknown / not live, 410 yanked) are the user's answer, not a network fault:
// they end the command with exit 1 and the broker's message (escaped when printed).
import { ErrorBodySchema } from '../../../contract/api.ts'
import { MANIFEST_MAX_BYTES, MANIFEST_MEDIA_TYPE } from '../../../contract/manifest.ts'
import { CliError, ExitCode, NetworkError, RefusedError } from '../errors.ts'
import { discardBody, networkError, readBodyCapped, type HttpClient } from '../system/http.ts'
import { redactUrl } from '../system/url-policy.ts'
import { MANIFEST_DEADLINE_MS } from './fetch-manifest.ts'

export function releaseManifestUrl(server: string, version: string): URL {
  const base = new URL(server)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return new URL(`v1/releases/${encodeURIComponent(version)}/manifest`, base)
}

/** The broker has no statement for this version: what it said, and its error code. */
export class NoSuchReleaseError extends CliError {
  readonly code: string | null
  constructor(message: string, code: string | null) {
    super(message, ExitCode.failure)
    this.name = 'NoSuchReleaseError'
    this.code = code
  }
}

export async function fetchReleaseManifest(http: HttpClient, server: string, version: string): Promise<Buffer> {
  const url = releaseManifestUrl(server, version)
  const res = await http.get(url, { headers: { accept: MANIFEST_MEDIA_TYPE }, signal: AbortSignal.timeout(MANIFEST_DEADLINE_MS) })
  const tooLarge = () => new RefusedError('size', `Release manifest refused (size): more than the ${MANIFEST_MAX_BYTES}-byte limit`)
  try {
    if (res.status !== 200) {
      const body = await readBodyCapped(res.body, 8 * 1024, () => new NetworkError(`broker answered HTTP ${res.status} for ${redactUrl(url)}`))
      let error: { code: string; message: string } | null = null
      try {
        const parsed = ErrorBodySchema.safeParse(JSON.parse(body.toString('utf8')))
        if (parsed.success) error = parsed.data.error
      } catch {}
      if (res.status === 404 || res.status === 410) {
        throw new NoSuchReleaseError(`Not installing ${version}: ${error?.message ?? `the broker has no release ${version} (HTTP ${res.status})`}`, error?.code ?? null)
      }
      throw new NetworkError(`broker answered HTTP ${res.status} for ${redactUrl(url)}${error ? `: ${error.message}` : ''}`)
    }
    const announced = res.headers['content-length']
    if (typeof announced === 'string' && Number(announced) > MANIFEST_MAX_BYTES) {
      discardBody(res.body)
      throw tooLarge()
    }
    const length = typeof announced === 'string' && /^\d+$/.test(announced) ? Number(announced) : undefined
    return await readBodyCapped(res.body, MANIFEST_MAX_BYTES, tooLarge, length)
  } catch (err) {
    if (err instanceof CliError) throw err
    throw networkError(err, res.url, http.proxyFor(res.url))
  }
}
