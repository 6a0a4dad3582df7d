// The Worker's entry: HTTP requests go to the Hono app, cron events to the re-sign job, and
// the Durable Object classes are exported for their bindings. Wiring only.
import { isChannel } from '../contract/manifest.ts'
import { createApp } from './app.ts'
import { loadConfig } from './config.ts'
import { cachedManifestAnswer } from './routes/channels.ts'
import { wantsFresh } from './policy/cache.ts'
import { runScheduled } from './scheduled.ts'

export { Broker } from './broker/broker.ts'
export { FleetShard } from './fleet/shard.ts'

const app = createApp()

/** The one request every host polls; its edge-cache hits skip the Hono app (routing, context). */
const MANIFEST_PATH = /^\/v1\/channels\/([a-z]+)\/manifest$/

export default {
  async fetch(request, env, ctx) {
    // Fast path, same answer as the route (channels.ts): a GET of a known channel's manifest
    // that does not ask to bypass caches, found in this colo's edge cache. Anything else (a
    // miss, a bad config var, other routes) goes to the app, which also handles its errors.
    if (request.method === 'GET') {
      const channel = MANIFEST_PATH.exec(new URL(request.url).pathname)?.[1]
      const h = request.headers
      if (channel && isChannel(channel) && !wantsFresh(h.get('cache-control') ?? undefined, h.get('pragma') ?? undefined)) {
        let config
        try {
          config = loadConfig(env)
        } catch {}
        const hit = config && (await cachedManifestAnswer(config, channel, h.get('if-none-match')))
        if (hit) return hit
      }
    }
    return app.fetch(request, env, ctx)
  },
  async scheduled(controller, env) {
    await runScheduled(controller, env)
  },
} satisfies ExportedHandler<Env>
