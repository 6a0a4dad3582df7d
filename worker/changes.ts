// Every change the Worker asks of the Durable Object goes through here: webhook deliveries,
// admin calls, the failure guard and the cron. After each one, this is the one place that drops what this colo
// and this isolate hold of the channels it re-signed (edge-cache.ts `purgeManifests`), and a
// refusal decided by policy becomes the `ApiError` it is answered with.
import type { GuardRequest, HaltRequest, PromoteRequest, RolloutRequest, YankRequest } from '../contract/api.ts'
import type { Channel } from '../contract/manifest.ts'
import { brokerStub } from './broker/stub.ts'
import type { AdminActor, AdminOutcome, ChannelChange, DeliveryResult, GuardResult, ReconcileResult, ReleaseChange, ReleaseDelivery, ScheduledResult } from './broker/types.ts'
import type { BrokerConfig } from './config.ts'
import { purgeManifests } from './edge-cache.ts'
import { refused } from './errors.ts'

const channelsOf = (signed: Partial<Record<Channel, number>>) => Object.keys(signed) as Channel[]

export function brokerChanges(env: Env, config: BrokerConfig) {
  const broker = brokerStub(env, config.product)

  async function after<T>(answer: T, channels: readonly Channel[]): Promise<T> {
    await purgeManifests(config, channels)
    return answer
  }
  async function channelChange(channel: Channel, call: Promise<AdminOutcome<ChannelChange>>): Promise<ChannelChange> {
    const out = await call
    if (!out.ok) throw refused(out)
    return after(out, out.changed ? [channel] : [])
  }
  async function releaseChange(call: Promise<AdminOutcome<ReleaseChange>>): Promise<ReleaseChange> {
    const out = await call
    if (!out.ok) throw refused(out)
    return after(out, channelsOf(out.channels))
  }

  return {
    async receiveRelease(delivery: ReleaseDelivery): Promise<DeliveryResult> {
      const result: DeliveryResult = await broker.receiveRelease(delivery)
      return after(result, channelsOf(result.channels))
    },
    promote: (channel: Channel, body: PromoteRequest, actor: AdminActor) => channelChange(channel, broker.promote(channel, body, actor)),
    rollout: (channel: Channel, body: RolloutRequest, actor: AdminActor) => channelChange(channel, broker.rollout(channel, body, actor)),
    halt: (channel: Channel, body: HaltRequest, actor: AdminActor) => channelChange(channel, broker.halt(channel, body, actor)),
    resume: (channel: Channel, actor: AdminActor) => channelChange(channel, broker.resume(channel, actor)),
    setGuard: (channel: Channel, body: GuardRequest, actor: AdminActor) => channelChange(channel, broker.setGuard(channel, body, actor)),
    /** The failure guard of a channel (after a failure report, and from the cron); a halt is purged like any change. */
    async evaluateGuard(channel: Channel, version?: string): Promise<GuardResult> {
      const result: GuardResult = await broker.evaluateGuard(channel, version)
      return after(result, channelsOf(result.channels))
    },
    yank: (version: string, body: YankRequest, actor: AdminActor) => releaseChange(broker.yank(version, body, actor)),
    unyank: (version: string, actor: AdminActor) => releaseChange(broker.unyank(version, actor)),
    async reconcile(): Promise<ReconcileResult> {
      const result: ReconcileResult = await broker.reconcile()
      return after(result, channelsOf(result.channels))
    },
    async resignDue(at: number): Promise<ScheduledResult> {
      const result: ScheduledResult = await broker.resignDue(at)
      return after(result, channelsOf(result.channels))
    },
  }
}
