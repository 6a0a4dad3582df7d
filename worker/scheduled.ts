// The cron handler: reconciles with GitHub's release list (catching up on webhooks GitHub
// never redelivered), then asks the Durable Object to re-sign manifests that expire soon or
// were signed with other keys, then drops this colo's cached copies of the channels that
// changed. A failed reconciliation is logged and never keeps the re-sign from running.
import type { Channel } from '../contract/manifest.ts'
import { brokerStub } from './broker/stub.ts'
import { loadConfig } from './config.ts'
import { purgeManifests } from './edge-cache.ts'

export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const config = loadConfig(env)
  const broker = brokerStub(env, config.product)
  const changed = new Set<Channel>()
  try {
    const reconciled = await broker.reconcile()
    for (const channel of Object.keys(reconciled.channels) as Channel[]) changed.add(channel)
  } catch (err) {
    console.error(`reconciliation failed: ${(err as Error).message}`)
  }
  const result = await broker.resignDue(controller.scheduledTime)
  for (const channel of Object.keys(result.channels) as Channel[]) changed.add(channel)
  await purgeManifests(config, [...changed])
}
