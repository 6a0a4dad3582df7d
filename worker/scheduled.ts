// The cron handler: asks the Durable Object to re-sign manifests that expire soon or were
// signed with other keys, then drops this colo's cached copies of the channels it re-signed.
import type { Channel } from '../contract/manifest.ts'
import { brokerStub } from './broker/stub.ts'
import { loadConfig } from './config.ts'
import { purgeManifests } from './edge-cache.ts'

export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const config = loadConfig(env)
  const result = await brokerStub(env, config.product).resignDue(controller.scheduledTime)
  await purgeManifests(config, Object.keys(result.channels) as Channel[])
}
