// `GET /v1/assets/{version}/{sha256}/{name}`: the one URL hosts download from (manifests carry
// it, for archives and for the block maps and chunk packs of differential updates). The sha256 makes the URL content-addressed: with the R2 mirror on it serves the verified
// copy of exactly those bytes (with `Range`, for resumed downloads) and may be cached for a
// year; without it, or for an asset published before mirroring was turned on, it redirects to
// the recorded download URL, but only while the release still records that sha256 (an archive
// replaced on GitHub would not match what the URL promises). `GET /v1/assets/{version}/{name}`
// is what manifests signed before the sha256 was in the URL carry; it stands for the release's
// current archive of that name.
import { Hono, type Context } from 'hono'
import { ASSET_NAME_MAX_LENGTH } from '../../contract/manifest.ts'
import { parseVersion } from '../../contract/version.ts'
import type { AppEnv } from '../app-env.ts'
import { mirrorBucket, mirroredObject } from '../broker/mirror.ts'
import { brokerStub } from '../broker/stub.ts'
import { ApiError, notFound } from '../errors.ts'
import { keepAlive, readThrough } from '../origin-reads.ts'
import { ifNoneMatchMatches } from '../policy/cache.ts'
import { mayBeRecordedAssetName } from '../policy/delta-assets.ts'
import { parseRange } from '../policy/range.ts'
import { checkUrl } from '../policy/url-policy.ts'

export const assets = new Hono<AppEnv>()

/** A content-addressed URL always names the same bytes. */
const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
/** Short: a withdrawn or replaced asset should stop being served under a name-only URL soon. */
const SHORT_CACHE_CONTROL = 'public, max-age=300'

const SHA256 = /^[0-9a-f]{64}$/

assets.get('/:version/:sha256/:name', async (c) => {
  const { version, sha256, name } = c.req.param()
  // Only a version's recordable asset, before the bucket is asked: its keys are built from these
  // segments, and a `version` that is no version (`1.0%2F<sha256>`) could spell another key.
  if (!SHA256.test(sha256) || !mayBeRecorded(version, name)) throw notFound(`asset ${JSON.stringify(name)} of release ${JSON.stringify(version)}`)
  const canonical = parseVersion(version)?.text ?? version
  const bucket = mirrorBucket(c.env)
  if (bucket) {
    const served = await fromMirror(bucket, canonical, { name, sha256 }, c.req.raw, IMMUTABLE_CACHE_CONTROL)
    if (served) return served
  }
  const recorded = await recordedAsset(c, version, name)
  if (!recorded) throw notFound(`asset ${JSON.stringify(name)} of release ${JSON.stringify(version)}`)
  if (recorded.sha256 !== sha256) {
    throw new ApiError(404, 'not_found', `asset ${JSON.stringify(name)} of release ${canonical} with sha256 ${sha256} was replaced; fetch the channel's manifest again`)
  }
  // Another spelling of the version (`v1.0` for `1.0.0`): the copy lives under the recorded one.
  if (bucket && recorded.version !== canonical) {
    const served = await fromMirror(bucket, recorded.version, { name, sha256 }, c.req.raw, IMMUTABLE_CACHE_CONTROL)
    if (served) return served
  }
  return redirect(c, recorded.source_url)
})

assets.get('/:version/:name', async (c) => {
  const { version, name } = c.req.param()
  const recorded = await recordedAsset(c, version, name)
  if (!recorded) throw notFound(`asset ${JSON.stringify(name)} of release ${JSON.stringify(version)}`)
  const bucket = mirrorBucket(c.env)
  if (bucket) {
    const served = await fromMirror(bucket, recorded.version, { name, sha256: recorded.sha256 }, c.req.raw, SHORT_CACHE_CONTROL)
    if (served) return served
  }
  return redirect(c, recorded.source_url)
})

/**
 * The asset as the Durable Object recorded it, through this isolate's shared reads
 * (origin-reads.ts). Only a platform archive of a version, or its block map or chunk pack, can
 * be recorded, so anything else is answered without asking the object.
 */
async function recordedAsset(c: Context<AppEnv>, version: string, name: string): Promise<{ version: string; sha256: string; source_url: string } | null> {
  if (!mayBeRecorded(version, name)) return null
  const product = c.var.config.product
  const { value } = await readThrough(`${product}:asset:${version}/${name}`, () => brokerStub(c.env, product).recordedAsset(version, name), keepAlive(c))
  return value
}

/** Whether a release could have recorded this asset: a version, and an archive's or its block map's or pack's name. */
function mayBeRecorded(version: string, name: string): boolean {
  return parseVersion(version) !== null && name.length <= ASSET_NAME_MAX_LENGTH && mayBeRecordedAssetName(name)
}

/**
 * A redirect to the recorded download URL. Ingest records only URLs that follow the URL rule,
 * in their normalized form; one that does not (recorded by an older broker) is answered with
 * an error that names the problem, never put into a Location header, which workerd would refuse
 * (a CR or LF) and turn into a bare 500.
 */
function redirect(c: Context<AppEnv>, location: string): Response {
  const checked = checkUrl(location)
  if (!checked.ok) throw new ApiError(502, 'bad_asset_url', `the recorded download URL of this asset ${checked.problem}; the release must be published again`)
  c.header('cache-control', SHORT_CACHE_CONTROL)
  return c.redirect(checked.url.href, 302)
}

/** The mirrored copy of exactly this content as a (partial) response, or null when there is none. */
async function fromMirror(bucket: R2Bucket, version: string, asset: { name: string; sha256: string }, req: Request, cacheControl: string): Promise<Response | null> {
  const head = await mirroredObject(bucket, version, asset)
  if (!head) return null
  const etag = head.httpEtag
  const headers = new Headers({
    etag,
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    'cache-control': cacheControl,
  })
  if (ifNoneMatchMatches(req.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })

  // `If-Range` with another validator: the client's partial copy is stale, send it all.
  const ifRange = req.headers.get('if-range')
  const range = ifRange !== null && ifRange !== etag ? { kind: 'full' as const } : parseRange(req.headers.get('range'), head.size)
  if (range.kind === 'unsatisfiable') {
    headers.set('content-range', `bytes */${head.size}`)
    return new Response(null, { status: 416, headers })
  }
  const partial = range.kind === 'partial'
  const length = partial ? range.end - range.start + 1 : head.size
  headers.set('content-length', String(length))
  if (partial) headers.set('content-range', `bytes ${range.start}-${range.end}/${head.size}`)
  const status = partial ? 206 : 200
  if (req.method === 'HEAD') return new Response(null, { status, headers })

  const object = await bucket.get(head.key, partial ? { range: { offset: range.start, length } } : {})
  // Deleted between the two calls (its release's archive was replaced): fall back to the redirect.
  if (!object) return null
  return new Response(object.body, { status, headers })
}
