// A channel's manifest past the colo's edge cache: KV, then the Durable Object through this
// isolate's shared read (origin-reads.ts), written back to the edge cache so that the next
// request in this colo finds it there. The manifest route and the download route both read it
// this way, with the same keys, so a flood of either costs one read of the object.
import type { Context } from 'hono'
import type { Channel } from '../contract/manifest.ts'
import type { AppEnv } from './app-env.ts'
import { brokerStub } from './broker/stub.ts'
import { cacheManifest, kvKey, type ServedManifest } from './edge-cache.ts'
import { keepAlive, readThrough, type OriginSource } from './origin-reads.ts'
import { KV_CACHE_TTL_SECONDS } from './policy/cache.ts'
import { loadSigningKeys } from './signing.ts'

/**
 * `fresh` (a client's `Cache-Control: no-cache`, after it was handed a manifest older than one it
 * had accepted) skips KV and reads the object, the strongly consistent copy.
 */
export async function manifestPastEdgeCache(c: Context<AppEnv>, channel: Channel, o: { fresh: boolean }): Promise<{ m: ServedManifest; source: 'kv' | OriginSource }> {
  const config = c.var.config
  let source: 'kv' | OriginSource = 'kv'
  let m: ServedManifest | null = null
  // What this request saw in KV, for the Durable Object to decide whether KV needs its copy;
  // undefined when KV was not read (a no-cache request), which never causes a KV write.
  let seenInKv: { seq: number | null } | undefined
  if (!o.fresh) {
    const kv = await c.env.MANIFESTS.getWithMetadata<{ etag?: string; seq?: number }>(kvKey(channel), { type: 'text', cacheTtl: KV_CACHE_TTL_SECONDS })
    if (kv.value !== null && kv.metadata?.etag && typeof kv.metadata.seq === 'number') m = { body: kv.value, etag: kv.metadata.etag, seq: kv.metadata.seq }
    else seenInKv = { seq: null }
  }
  if (!m) {
    // No-cache reads and KV misses are shared separately: only the latter may ask the object
    // to write KV.
    const key = `${config.product}:manifest:${channel}:${o.fresh ? 'fresh' : 'kv-miss'}`
    const read = await readThrough(key, async () => {
      // Only this tier may have to sign (a channel's first manifest): a broken key is reported
      // here as `misconfigured`, while already signed manifests keep being served.
      await loadSigningKeys(c.env)
      return brokerStub(c.env, config.product).manifest(channel, seenInKv)
    }, keepAlive(c))
    m = read.value
    source = read.source
  }
  // Awaited rather than left to waitUntil: the next request in this colo must find it. A
  // request that shared another's read leaves it to that one.
  if (source === 'kv' || source === 'do') await cacheManifest(config, channel, m)
  return { m, source }
}
