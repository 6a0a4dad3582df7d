// The plain data that crosses the Worker ↔ Durable Object boundary (Workers RPC): what a
// webhook delivery asks for, what the object answers, and its stored records as read back.
// What the admin API serves of them is defined by the contract (contract/api.ts): the types
// here take those parts from it, so the object cannot drift from what the routes answer.
import type { AuditPage, ChannelSummary, ReleaseChange as ReleaseChangeAnswer, ReleaseDetail } from '../../contract/api.ts'
import type { Channel } from '../../contract/manifest.ts'
import type { Platform } from '../../contract/platform.ts'
import type { RecordedAsset } from '../policy/assess-release.ts'
import type { GithubRelease, ReleaseAction } from '../policy/github-release.ts'

import type { Refusal } from '../policy/refusal.ts'
import type { ReleaseStatus } from '../policy/release-lifecycle.ts'

export type { ReleaseStatus }

export interface ReleaseDelivery {
  /** `X-GitHub-Delivery`; a second delivery with the same id has no effect. */
  id: string
  /**
   * sha256 hex of the signed body. The signature does not cover the delivery id, so a body
   * already processed is a duplicate under any id (a replay of an old, validly signed body).
   */
  bodySha256: string
  action: ReleaseAction
  /** Who caused it, for the audit log (`github:<sender login>`). */
  actor: string
  release: GithubRelease
}

export type DeliveryStatus = 'duplicate' | 'published' | 'refused' | 'queued' | 'withdrawn' | 'ignored'

export interface DeliveryResult {
  status: DeliveryStatus
  version?: string
  reason?: string
  /** Channels whose signed manifest changed, with their new seq. */
  channels: Partial<Record<Channel, number>>
}

/**
 * A release as the object reads it back: what `GET /v1/releases/{version}` shows (contract
 * ReleaseDetail), but for the three fields routes/releases.ts derives, plus what only the
 * broker needs.
 */
export interface StoredRelease extends Omit<ReleaseDetail, 'status' | 'github_release_id' | 'assets'> {
  status: ReleaseStatus
  /** Shown as `github_release_id`. */
  github_id: number
  /** Shown with each archive's download URL on the broker. */
  assets: Partial<Record<Platform, RecordedAsset>>
  was_on_stable: boolean
}

export interface SignedManifest {
  channel: Channel
  /** The JWS (General JSON Serialization) exactly as served. */
  body: string
  etag: string
  seq: number
}

/** A channel as `GET /v1/channels` shows it. */
export type ChannelState = ChannelSummary

export interface ScheduledResult {
  /** Channels re-signed, with their new seq. */
  channels: Partial<Record<Channel, number>>
}

/** Who made an admin change: the audit log's actor and facts about the credential. */
export interface AdminActor {
  /** `token:<name>` or `oidc:<repository>@<ref>`. */
  name: string
  /** Added to the audit entry as `auth` (OIDC: `workflow`, `run_id`, `actor`). */
  detail: Record<string, string>
}

/** An admin request the object refused: nothing was written. */
export type AdminRefusal = { ok: false } & Refusal

export type AdminOutcome<T> = ({ ok: true } & T) | AdminRefusal

/** What a channel admin call (promote, rollout, halt, resume) answers. */
export interface ChannelChange {
  channel: ChannelState
  /** False when the call changed nothing (no new seq, no audit entry). */
  changed: boolean
}

/** What yank and unyank answer (routes/admin.ts shows the release as the API does). */
export interface ReleaseChange {
  release: StoredRelease
  /** Channels re-signed by the change, with their new seq. */
  channels: ReleaseChangeAnswer['channels']
}

/** What an evaluation of a channel's failure guard did (Broker `evaluateGuard`). */
export interface GuardResult {
  outcome: 'hold' | 'halted'
  /** Why it holds, when it does. */
  why?: string
  /** The halt's reason, when it halted. */
  reason?: string
  /** Channels re-signed by the halt, with their new seq (changes.ts purges them). */
  channels: Partial<Record<Channel, number>>
  counts?: { attempted: number; failed: number }
}

export interface ReconcileResult {
  outcome: 'not-modified' | 'applied' | 'failed'
  /** GitHub release ids applied, and versions withdrawn because GitHub no longer lists them. */
  applied: number[]
  withdrawn: string[]
  /** Channels re-signed, with their new seq. */
  channels: Partial<Record<Channel, number>>
  error?: string
}

/** `GET /v1/audit`'s page, as the contract serves it. */
export type AuditPageData = AuditPage
