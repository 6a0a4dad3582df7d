// The cron handler: reconciles with GitHub's release list (catching up on webhooks GitHub
// never redelivered), then asks the Durable Object to re-sign manifests that expire soon or
// were signed with other keys; each change drops this colo's cached copies of the channels it
// re-signed (changes.ts). A failed reconciliation is logged and never keeps the re-sign from
// running. Then every channel's failure guard is evaluated once more (a safety net).
import { CHANNELS } from '../contract/manifest.ts'
import { brokerChanges } from './changes.ts'
import { loadConfig } from './config.ts'

export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const changes = brokerChanges(env, loadConfig(env))
  try {
    await changes.reconcile()
  } catch (err) {
    console.error(`reconciliation failed: ${(err as Error).message}`)
  }
  await changes.resignDue(controller.scheduledTime)
  // The failure guard's safety net: a failure report whose evaluation was lost (an isolate
  // evicted mid-waitUntil, a shard that did not answer) is counted again here.
  if (env.FLEET_TOKEN_HASHES) {
    for (const channel of CHANNELS) {
      await changes.evaluateGuard(channel).catch((err: unknown) => console.error(`failure guard of ${channel}: ${(err as Error).message}`))
    }
  }
}
