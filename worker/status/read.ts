// What the status page shows, read the way the API reads it: the channels through the shared
// public read of `GET /v1/channels`, and for a signed-in admin the newest audit entries
// (`GET /v1/audit`) and the fleet summary (`GET /v1/fleet`: every shard's counts, added up by
// fleet/merge.ts). Each signed-in section is read on its own: one that fails is shown as
// unavailable with a safe message, and the rest of the page still renders.
import type { AuditEntry, AuditPage, ChannelSummary } from '../../contract/api.ts'
import type { FleetView } from '../../contract/fleet.ts'
import { brokerStub } from '../broker/stub.ts'
import { ApiError } from '../errors.ts'
import { mergeSummaries } from '../fleet/merge.ts'
import { allShards, fleetShard, fleetShardCount } from '../fleet/shards.ts'
import type { RolloutQuery } from '../fleet/types.ts'
import { keepAlive, readThrough } from '../origin-reads.ts'

/** The audit entries the page lists. */
export const STATUS_AUDIT_ENTRIES = 20

export type Section<T> = { ok: true; value: T } | { ok: false; message: string }

type WaitUntil = { executionCtx: { waitUntil(p: Promise<unknown>): void } }

/** The channels, shared with `GET /v1/channels` (the same key, so the object is read once for both). */
export async function readChannels(c: WaitUntil, env: Env, product: string): Promise<ChannelSummary[]> {
  const { value } = await readThrough(`${product}:channels`, () => brokerStub(env, product).channelStates(), keepAlive(c))
  return value
}

export async function readAudit(env: Env, product: string): Promise<AuditEntry[]> {
  const page: AuditPage = await brokerStub(env, product).audit({ limit: STATUS_AUDIT_ENTRIES })
  return page.entries
}

/**
 * `GET /v1/fleet`'s answer (routes/fleet.ts): each shard counts its hosts against the channels'
 * rollouts, and the Worker adds the counts up. `channels` are the states the page shows, so the
 * progress matches the channel cards above it.
 */
export async function readFleet(env: Env, product: string, channels: readonly ChannelSummary[]): Promise<FleetView> {
  const shards = fleetShardCount(env)
  const rollouts: RolloutQuery[] = channels.map((s) => ({ channel: s.channel, version: s.version, percent: s.rollout.percent, halted: s.rollout.halted }))
  const parts = await Promise.all(allShards(shards).map((index) => fleetShard(env, product, index).summary({ shards, index, rollouts })))
  return mergeSummaries(parts, rollouts, shards, Date.now())
}

/** A section's value, or what to say instead: an ApiError's own (safe) message; anything else is logged. */
export async function section<T>(what: string, read: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, value: await read() }
  } catch (err) {
    if (err instanceof ApiError) return { ok: false, message: err.message }
    console.error(`status page: reading ${what} failed:`, err)
    return { ok: false, message: 'internal error' }
  }
}
