// `GET /v1/channels/{channel}/download/{platform}`: a redirect to the archive a channel serves
// for a platform, for people and first installs (browsers, `curl -LO`, install scripts). It
// answers from the channel's signed manifest, read the way hosts read it (edge cache, then
// KV, then the Durable Object through this isolate's shared reads), so a flood of downloads
// costs what a flood of manifest polls costs. The redirect goes to the URL the manifest
// carries (`/v1/assets/{version}/{sha256}/{name}`), so it names exactly the bytes the signed
// manifest vouches for. A first install is not an update: the channel's `release` is served
// whatever its rollout percentage or halt, as the manifest itself serves it to everyone.
import { Hono, type Context } from 'hono'
import { CHANNELS, JwsGeneralSchema, ManifestPayloadSchema, isChannel, type Channel, type ManifestPayload } from '../../contract/manifest.ts'
import { PLATFORMS, isPlatform } from '../../contract/platform.ts'
import type { AppEnv } from '../app-env.ts'
import { cachedManifest } from '../edge-cache.ts'
import { ApiError } from '../errors.ts'
import { manifestPastEdgeCache } from '../manifest-reads.ts'
import type { OriginSource } from '../origin-reads.ts'
import { checkUrl } from '../policy/url-policy.ts'

export const download = new Hono<AppEnv>()

/** As short as the manifest's own freshness: a promotion reaches downloads within a minute. */
const DOWNLOAD_CACHE_CONTROL = 'public, max-age=60'

download.get('/:channel/download/:platform', async (c) => {
  const { channel, platform } = c.req.param()
  if (!isChannel(channel)) throw new ApiError(404, 'unknown_channel', `unknown channel ${JSON.stringify(channel)} (channels: ${CHANNELS.join(', ')})`)
  const { payload, source } = await channelPayload(c, channel)
  c.header('x-cco-source', source)
  const release = payload.release
  if (!release) throw new ApiError(404, 'not_found', `channel ${channel} has no release yet`)
  const asset = isPlatform(platform) ? release.assets[platform] : undefined
  if (!asset) {
    const has = PLATFORMS.filter((p) => release.assets[p])
    // The platform text is the caller's: quoted, and cut so the message stays one short line.
    throw new ApiError(404, 'not_found', `${channel} ${release.version} has no build for ${JSON.stringify(platform.slice(0, 64))} (platforms: ${has.join(', ') || 'none'})`)
  }
  // The manifest's URLs are built by the broker from PUBLIC_URL; checked anyway, as a URL that
  // workerd would refuse in a Location header must become an error that says so, not a 500.
  const checked = checkUrl(asset.url)
  if (!checked.ok) throw new ApiError(502, 'bad_asset_url', `the manifest's URL for ${platform} ${checked.problem}`)
  c.header('cache-control', DOWNLOAD_CACHE_CONTROL)
  c.header('x-cco-version', release.version)
  return c.redirect(checked.url.href, 302)
})

/**
 * The channel's current payload, from the same tiers (and the same cache entries) as the
 * manifest route; `source` names the tier as that route's `x-cco-source` does.
 */
async function channelPayload(c: Context<AppEnv>, channel: Channel): Promise<{ payload: ManifestPayload; source: 'cache' | 'kv' | OriginSource }> {
  const cached = await cachedManifest(c.var.config, channel)
  const { m, source } = cached ? { m: cached, source: 'cache' as const } : await manifestPastEdgeCache(c, channel, { fresh: false })
  // The broker's own signed bytes: parsed for their shape, not verified again.
  const jws = JwsGeneralSchema.parse(JSON.parse(m.body))
  return { payload: ManifestPayloadSchema.parse(JSON.parse(new TextDecoder().decode(base64UrlBytes(jws.payload)))), source }
}

function base64UrlBytes(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/')
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (ch) => ch.charCodeAt(0))
}
