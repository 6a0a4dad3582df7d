// What the Worker and the FleetShard objects pass each other over RPC (shard.ts, routes/fleet.ts).
import type { EventKind, EventOutcome, FleetEventView, FleetHost } from '../../contract/fleet.ts'
import type { Channel } from '../../contract/manifest.ts'

/** A report's fate: stored (with the events new to the shard and those it already had), or refused for the host's rate. */
export type ReportOutcome = { ok: true; accepted: number; duplicates: number } | { ok: false; retryAfterS: number }

/**
 * Which hosts a read counts: those whose hash maps to `index` under `shards`. Rows of hosts that
 * map elsewhere (left behind by a change of FLEET_SHARDS) are not counted and expire unseen.
 */
export interface ShardScope {
  shards: number
  index: number
}

/** A channel's rollout as the release broker has it (`channelStates()`). */
export interface RolloutQuery {
  channel: Channel
  version: string | null
  percent: number
  halted: boolean
}

export interface ShardSummaryQuery extends ShardScope {
  rollouts: RolloutQuery[]
}

export interface RolloutCounts {
  channel: Channel
  onChannel: number
  inBucket: number
  installed: number
  rolledBack: number
  failed: number
  notSeen: number
  /** Hosts on the channel whose newest install with a download was to the version, and their figures added up. */
  downloads: number
  differential: number
  downloadedBytes: number
  fullBytes: number
}

/** One shard's counts, computed in SQL; the Worker adds them up (merge.ts). */
export interface ShardSummary {
  hosts: number
  stale: number
  byVersion: { version: string; versionKey: string; channel: string; hosts: number }[]
  byPlatform: { platform: string | null; hosts: number }[]
  /** The most common key=value pairs, at most LABELS_LISTED; `labelsComplete` false when there were more. */
  byLabel: { key: string; value: string; hosts: number }[]
  labelsComplete: boolean
  rollouts: RolloutCounts[]
}

export interface HostQuery extends ShardScope {
  versionKey?: string
  channel?: Channel
  label?: { key: string; value: string }
  stale?: boolean
  outcome?: EventOutcome
  /** Hosts after this id (the cursor). */
  after?: string
  limit: number
}

export interface EventQuery extends ShardScope {
  hostId?: string
  versionKey?: string
  /** Epoch ms: events at or after. */
  since?: number
  kind?: EventKind
  /** Events after this one in the newest-first order (the cursor). */
  before?: EventPosition
  limit: number
}

/** An event's place in the newest-first order: time, then host id, then event id, all descending. */
export interface EventPosition {
  at: number
  hostId: string
  id: string
}

export type { FleetEventView, FleetHost }

/** What the broker's failure guard asks a shard (shard.ts `guardCounts`). */
export interface GuardQuery extends ShardScope {
  channel: Channel
  /** The version's identity (`versionIdentity`). */
  versionKey: string
  /** Epoch ms: only events at or after this count (the guard's epoch). */
  since: number
  /** Failed host ids to return at most. */
  sample: number
}

export interface GuardShardCounts {
  attempted: number
  failed: number
  hosts: string[]
  errorClasses: string[]
}
