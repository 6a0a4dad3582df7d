// The colo's edge cache (Cache API) in front of KV for manifests. Entries live one minute
// (EDGE_CACHE_CONTROL); after a change the Worker deletes the entries in its own colo, and
// other colos converge once theirs expire and KV's read cache has let go of the old copy
// (see README "Caching and consistency"). Keys are built from PUBLIC_URL so that a purge
// finds the entry whatever host name a request used.
import type { Channel } from '../contract/manifest.ts'
import { MANIFEST_MEDIA_TYPE } from '../contract/manifest.ts'
import type { BrokerConfig } from './config.ts'
import { forgetOriginReads } from './origin-reads.ts'
import { EDGE_CACHE_CONTROL } from './policy/cache.ts'

/** KV key of a channel's signed manifest (metadata: `{etag, seq}`), the copy behind the edge cache. */
export const kvKey = (channel: Channel) => `manifest:${channel}`

export interface ServedManifest {
  body: string
  etag: string
  seq: number
}

function cacheKey(config: BrokerConfig, channel: Channel): Request {
  return new Request(`${config.publicUrl}/v1/channels/${channel}/manifest`)
}

export async function cachedManifest(config: BrokerConfig, channel: Channel): Promise<ServedManifest | null> {
  const hit = await cachedManifestStream(config, channel)
  if (!hit) return null
  // Decoded by hand: `.text()` on an application/jose+json body makes workerd warn.
  return { body: new TextDecoder().decode(await new Response(hit.body).arrayBuffer()), etag: hit.etag, seq: hit.seq }
}

/**
 * The cached copy with its body left as the cache's stream: the hot path hands it on as it is
 * (or drops it for a 304) instead of decoding and re-encoding the bytes on every hit.
 */
export async function cachedManifestStream(config: BrokerConfig, channel: Channel): Promise<{ body: ReadableStream | null; etag: string; seq: number } | null> {
  const hit = await caches.default.match(cacheKey(config, channel))
  if (!hit) return null
  const etag = hit.headers.get('etag')
  const seq = Number(hit.headers.get('x-cco-seq'))
  if (!etag || !Number.isSafeInteger(seq)) {
    await hit.body?.cancel()
    return null
  }
  return { body: hit.body, etag, seq }
}

export async function cacheManifest(config: BrokerConfig, channel: Channel, m: ServedManifest): Promise<void> {
  const res = new Response(m.body, {
    headers: { 'content-type': MANIFEST_MEDIA_TYPE, etag: m.etag, 'cache-control': EDGE_CACHE_CONTROL, 'x-cco-seq': String(m.seq) },
  })
  await caches.default.put(cacheKey(config, channel), res)
}

/**
 * After a change made through this isolate (every writer calls this, with the channels that
 * were re-signed, possibly none): drops those channels' copies in this colo's edge cache, and
 * every read of the Durable Object this isolate shares (origin-reads.ts), so the next request
 * here sees the change.
 */
export async function purgeManifests(config: BrokerConfig, channels: readonly Channel[]): Promise<void> {
  forgetOriginReads()
  await Promise.all(channels.map((channel) => caches.default.delete(cacheKey(config, channel))))
}
