// Release history: `GET /v1/releases` (newest first, with status and any refusal reason) and
// `GET /v1/releases/{version}` (with the notes), informational and unsigned; and
// `GET /v1/releases/{version}/manifest`, the signed statement of one live release's assets
// that `cco update --version X` installs from (contract/release-manifest.ts).
import { Hono } from 'hono'
import type { ReleaseDetail, ReleaseList, ReleaseView } from '../../contract/api.ts'
import { MANIFEST_MEDIA_TYPE } from '../../contract/manifest.ts'
import { RELEASE_JWS_TYP, RELEASE_MANIFEST_TTL_MS } from '../../contract/release-manifest.ts'
import { parseVersion, versionKey } from '../../contract/version.ts'
import type { AppEnv } from '../app-env.ts'
import { brokerStub } from '../broker/stub.ts'
import type { StoredRelease } from '../broker/types.ts'
import type { BrokerConfig } from '../config.ts'
import { ApiError, notFound } from '../errors.ts'
import { keepAlive, readThrough } from '../origin-reads.ts'
import { isoSeconds } from '../policy/assess-release.ts'
import { wantsFresh } from '../policy/cache.ts'
import { assetUrl, releaseManifestPayload } from '../policy/manifest.ts'
import { loadSigningKeys } from '../signing.ts'

export const releases = new Hono<AppEnv>()

// Anyone may ask: reads of the Durable Object are shared within the isolate (origin-reads.ts).
releases.get('/', async (c) => {
  const product = c.var.config.product
  const { value: list } = await readThrough(`${product}:releases`, () => brokerStub(c.env, product).listReleases(), keepAlive(c))
  return c.json({ releases: list.map((r) => releaseView(r, c.var.config.publicUrl)) } satisfies ReleaseList)
})

/**
 * A signed statement lives a minute in the colo's edge cache, for hosts and proxies too. Only
 * engineers and incident pins ask for it (hosts poll the channel manifest), so the cache only
 * spares the signing when many hosts are pinned at once. A yank is not purged from it: the
 * route answers 410 within a minute of a yank, and a client refuses a version that the channel
 * manifest it trusts lists as yanked whatever a statement says (worker/README.md).
 */
const STATEMENT_CACHE_CONTROL = 'public, max-age=60'

// Keyed by PUBLIC_URL and the version's identity, so that every spelling (`v1.0`, `1.0.0+b`)
// finds the one entry.
const statementCacheKey = (config: BrokerConfig, key: string) => new Request(`${config.publicUrl}/v1/releases/${encodeURIComponent(key)}/manifest`)

// Public and unauthenticated, like the channel manifest; nothing is written but the cache.
releases.get('/:version/manifest', async (c) => {
  const asked = c.req.param('version')
  const config = c.var.config
  const parsed = parseVersion(asked)
  if (!parsed) throw new ApiError(404, 'unknown_release', `release ${JSON.stringify(asked)} not found: not a version`)
  const key = versionKey(parsed)
  const cacheKey = statementCacheKey(config, key)
  if (!wantsFresh(c.req.header('cache-control'), c.req.header('pragma'))) {
    const hit = await caches.default.match(cacheKey)
    // Decoded by hand: `.text()` on an application/jose+json body makes workerd warn.
    if (hit) return statementResponse(new TextDecoder().decode(await hit.arrayBuffer()), 'cache')
  }
  const { value: release } = await readThrough(`${config.product}:release:${key}`, () => brokerStub(c.env, config.product).getRelease(parsed.text), keepAlive(c))
  if (!release) throw new ApiError(404, 'unknown_release', `release ${JSON.stringify(asked)} not found`)
  // A yanked release stays `live` in its row (an unyank brings it back); it gets no statement.
  if (release.yanked) throw new ApiError(410, 'release_yanked', `release ${release.version} was yanked: ${release.yanked.reason}`)
  if (release.status !== 'live') {
    throw new ApiError(404, 'release_not_live', `release ${release.version} is ${release.status}${release.reason ? ` (${release.reason})` : ''}; only a live release can be installed`)
  }
  const keys = await loadSigningKeys(c.env)
  const now = Date.now()
  // A live release always has its publication time; the first sighting stands in, as it does in the row.
  const payload = releaseManifestPayload({ ...release, published_at: release.published_at ?? release.first_seen_at }, {
    product: config.product,
    publicUrl: config.publicUrl,
    issuedAt: isoSeconds(now)!,
    expiresAt: isoSeconds(now + RELEASE_MANIFEST_TTL_MS)!,
  })
  const body = await keys.sign(new TextEncoder().encode(JSON.stringify(payload)), RELEASE_JWS_TYP)
  await caches.default.put(cacheKey, new Response(body, { headers: { 'content-type': MANIFEST_MEDIA_TYPE, 'cache-control': STATEMENT_CACHE_CONTROL } }))
  return statementResponse(body, 'signed')
})

function statementResponse(body: string, source: 'cache' | 'signed'): Response {
  return new Response(body, { headers: { 'content-type': MANIFEST_MEDIA_TYPE, 'cache-control': STATEMENT_CACHE_CONTROL, 'x-cco-source': source } })
}

releases.get('/:version', async (c) => {
  const version = c.req.param('version')
  const product = c.var.config.product
  const { value: release } = await readThrough(`${product}:release:${version}`, () => brokerStub(c.env, product).getRelease(version), keepAlive(c))
  if (!release) throw notFound(`release ${JSON.stringify(version)}`)
  return c.json({ ...releaseView(release, c.var.config.publicUrl), notes: release.notes } satisfies ReleaseDetail)
})

/** A release as the API lists it (the admin API's yank and unyank answer with it too). */
export function releaseView(r: StoredRelease, publicUrl: string): ReleaseView {
  return {
    version: r.version,
    tag: r.tag,
    status: r.status,
    reason: r.reason,
    prerelease: r.prerelease,
    published_at: r.published_at,
    first_seen_at: r.first_seen_at,
    updated_at: r.updated_at,
    channels: r.channels,
    yanked: r.yanked,
    live_since: r.live_since,
    pending: r.pending,
    mirror: r.mirror,
    notes_url: r.notes_url,
    github_release_id: r.github_id,
    assets: Object.fromEntries(
      Object.entries(r.assets).map(([platform, a]) => [
        platform,
        { name: a.name, size: a.size, sha256: a.sha256, url: assetUrl(publicUrl, r.version, a.sha256, a.name), source_url: a.source_url },
      ]),
    ),
  }
}
