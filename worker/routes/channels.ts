// `GET /v1/channels` (informational) and `GET /v1/channels/{channel}/manifest`, the hot path
// every host polls: served from the colo's edge cache, else KV, else the Durable Object, with
// a strong ETag and `304 Not Modified`. `x-cco-source` says which tier answered (`cache`, `kv`,
// `do`, or `do-coalesced` / `memo` for a read of the object shared with other requests) on a
// 200; a 304 carries only what RFC 9110 §15.4.5 asks for here (ETag, Cache-Control), since
// every byte of it is paid on each host's poll. A cache hit is also answered before the Hono
// app runs (index.ts, `cachedManifestAnswer`).
import { Hono } from 'hono'
import type { ChannelList } from '../../contract/api.ts'
import { CHANNELS, MANIFEST_MEDIA_TYPE, isChannel, type Channel } from '../../contract/manifest.ts'
import type { AppEnv } from '../app-env.ts'
import { brokerStub } from '../broker/stub.ts'
import type { BrokerConfig } from '../config.ts'
import { cachedManifestBytes } from '../edge-cache.ts'
import { ApiError } from '../errors.ts'
import { manifestPastEdgeCache } from '../manifest-reads.ts'
import { keepAlive, readThrough, type OriginSource } from '../origin-reads.ts'
import { MANIFEST_CACHE_CONTROL, ifNoneMatchMatches, wantsFresh } from '../policy/cache.ts'

export const channels = new Hono<AppEnv>()

channels.get('/', async (c) => {
  const product = c.var.config.product
  const { value: states } = await readThrough(`${product}:channels`, () => brokerStub(c.env, product).channelStates(), keepAlive(c))
  return c.json({ channels: states } satisfies ChannelList)
})

channels.get('/:channel/manifest', async (c) => {
  const channel = c.req.param('channel')
  if (!isChannel(channel)) throw new ApiError(404, 'unknown_channel', `unknown channel ${JSON.stringify(channel)} (channels: ${CHANNELS.join(', ')})`)
  const config = c.var.config

  // A client that was handed a manifest older than one it already accepted (a colo's cache
  // or KV copy from before a change) asks again with `Cache-Control: no-cache`: that answer
  // comes from the Durable Object, the strongly consistent copy, through this isolate's
  // shared read (manifest-reads.ts, origin-reads.ts): at most one read of the object in flight
  // per channel, and one that started under ORIGIN_MEMO_MS ago answers for it.
  const fresh = wantsFresh(c.req.header('cache-control'), c.req.header('pragma'))
  if (!fresh) {
    const hit = await cachedManifestAnswer(config, channel, c.req.header('if-none-match'))
    if (hit) return hit
  }
  const { m, source } = await manifestPastEdgeCache(c, channel, { fresh })
  return manifestAnswer(m.body, m.etag, source, c.req.header('if-none-match'))
})

/** The answer from this colo's edge cache (or this isolate's copy of it, edge-cache.ts), or null on a miss. */
export async function cachedManifestAnswer(config: BrokerConfig, channel: Channel, ifNoneMatch: string | null | undefined): Promise<Response | null> {
  const hit = await cachedManifestBytes(config, channel)
  if (!hit) return null
  return manifestAnswer(hit.body, hit.etag, 'cache', ifNoneMatch)
}

// The seq is in the signed payload; an unsigned copy in a header would cost every 200 a header
// (a measurable share of an edge-cache hit's work) for something no client may trust.
function manifestAnswer(body: BodyInit | null, etag: string, source: 'cache' | 'kv' | OriginSource, ifNoneMatch: string | null | undefined): Response {
  if (ifNoneMatchMatches(ifNoneMatch, etag)) return new Response(null, { status: 304, headers: { etag, 'cache-control': MANIFEST_CACHE_CONTROL } })
  return new Response(body, {
    status: 200,
    headers: { etag, 'cache-control': MANIFEST_CACHE_CONTROL, 'x-cco-source': source, 'content-type': MANIFEST_MEDIA_TYPE },
  })
}
