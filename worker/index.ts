// The Worker's entry: HTTP requests go to the Hono app, cron events to the re-sign job, and
// the Durable Object classes are exported for their bindings. Wiring only.
import { createApp } from './app.ts'
import { runScheduled } from './scheduled.ts'

export { Broker } from './broker/broker.ts'
export { FleetShard } from './fleet/shard.ts'

const app = createApp()

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  async scheduled(controller, env) {
    await runScheduled(controller, env)
  },
} satisfies ExportedHandler<Env>
