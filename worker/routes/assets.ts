// `GET /v1/assets/{version}/{name}`: the one URL hosts download from. With the R2 mirror on it
// serves the verified copy (with `Range`, for resumed downloads); without it, or for an asset
// published before mirroring was turned on, it redirects to the recorded download URL.
import { Hono } from 'hono'
import { parseVersion } from '../../contract/version.ts'
import type { AppEnv } from '../app-env.ts'
import { mirrorBucket, mirrorKey } from '../broker/mirror.ts'
import { brokerStub } from '../broker/stub.ts'
import { notFound } from '../errors.ts'
import { ifNoneMatchMatches } from '../policy/cache.ts'
import { parseRange } from '../policy/range.ts'

export const assets = new Hono<AppEnv>()

/** A mirrored object never changes under its key: a new upload is a new release version. */
const MIRROR_CACHE_CONTROL = 'public, max-age=31536000, immutable'

assets.get('/:version/:name', async (c) => {
  const { version, name } = c.req.param()
  const bucket = mirrorBucket(c.env)
  if (bucket) {
    const served = await fromMirror(bucket, mirrorKey(parseVersion(version)?.text ?? version, name), c.req.raw)
    if (served) return served
  }
  const source = await brokerStub(c.env, c.var.config.product).assetSource(version, name)
  if (!source) throw notFound(`asset ${JSON.stringify(name)} of release ${JSON.stringify(version)}`)
  // Short: a withdrawn or replaced asset should stop being redirected to soon.
  c.header('cache-control', 'public, max-age=300')
  return c.redirect(source, 302)
})

/** The mirrored object as a (partial) response, or null when the mirror has no copy. */
async function fromMirror(bucket: R2Bucket, key: string, req: Request): Promise<Response | null> {
  const head = await bucket.head(key)
  if (!head) return null
  const etag = head.httpEtag
  const headers = new Headers({
    etag,
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    'cache-control': MIRROR_CACHE_CONTROL,
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

  const object = await bucket.get(key, partial ? { range: { offset: range.start, length } } : {})
  // Deleted between the two calls (a failed re-copy): fall back to the redirect.
  if (!object) return null
  return new Response(object.body, { status, headers })
}
