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

/** The edge cache's key as a URL; also this isolate's key for its copy (no Request built on a hit). */
function cacheUrl(config: BrokerConfig, channel: Channel): string {
  return `${config.publicUrl}/v1/channels/${channel}/manifest`
}

function cacheKey(config: BrokerConfig, channel: Channel): Request {
  return new Request(cacheUrl(config, channel))
}

export async function cachedManifest(config: BrokerConfig, channel: Channel): Promise<ServedManifest | null> {
  const hit = await cachedManifestBytes(config, channel)
  if (!hit) return null
  // Decoded by hand: `.text()` on an application/jose+json body makes workerd warn.
  return { body: new TextDecoder().decode(hit.body), etag: hit.etag, seq: hit.seq }
}

/**
 * How long this isolate answers from a copy it found in the edge cache without asking the
 * cache again. Every hit used to cost a Cache API round trip (under `wrangler dev` most of a
 * hit's time); within a second the entry can only have been replaced by a change, and a
 * change through this isolate forgets the copy (purgeManifests). A purge in another isolate
 * of the colo reaches this one within EDGE_MEMO_MS, small next to the 60 s other colos keep
 * their own copy.
 */
export const EDGE_MEMO_MS = 1000

interface CachedManifest {
  body: Uint8Array
  etag: string
  seq: number
  at: number
}

/** By cache key (PUBLIC_URL and channel, so at most one entry per channel). */
const memo = new Map<string, CachedManifest>()

/** Forgets this isolate's copies of the edge cache (after a change; tests that empty the cache by hand). */
export function forgetCachedCopies(): void {
  memo.clear()
}

/** The colo's cached copy as bytes, from this isolate's copy of the last second or the Cache API. */
export async function cachedManifestBytes(config: BrokerConfig, channel: Channel): Promise<CachedManifest | null> {
  const url = cacheUrl(config, channel)
  const now = Date.now()
  const known = memo.get(url)
  if (known && now - known.at < EDGE_MEMO_MS) return known
  const hit = await caches.default.match(new Request(url))
  if (!hit) {
    memo.delete(url)
    return null
  }
  const etag = hit.headers.get('etag')
  const seq = Number(hit.headers.get('x-cco-seq'))
  const body = new Uint8Array(await hit.arrayBuffer())
  if (!etag || !Number.isSafeInteger(seq)) return null
  const entry = { body, etag, seq, at: now }
  memo.set(url, entry)
  return entry
}

export async function cacheManifest(config: BrokerConfig, channel: Channel, m: ServedManifest): Promise<void> {
  const res = new Response(m.body, {
    headers: { 'content-type': MANIFEST_MEDIA_TYPE, etag: m.etag, 'cache-control': EDGE_CACHE_CONTROL, 'x-cco-seq': String(m.seq) },
  })
  memo.delete(cacheUrl(config, channel))
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
  forgetCachedCopies()
  await Promise.all(channels.map((channel) => caches.default.delete(cacheKey(config, channel))))
}
