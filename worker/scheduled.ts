// The cron handler: reconciles with GitHub's release list (catching up on webhooks GitHub
// never redelivered), then asks the Durable Object to re-sign manifests that expire soon or
// were signed with other keys; each change drops this colo's cached copies of the channels it
// re-signed (changes.ts). A failed reconciliation is logged and never keeps the re-sign from
// running.
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
}
