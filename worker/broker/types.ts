// The plain data that crosses the Worker ↔ Durable Object boundary (Workers RPC): what a
// webhook delivery asks for, what the object answers, and its stored records as read back.
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

export interface StoredRelease {
  version: string
  tag: string
  github_id: number
  prerelease: boolean
  status: ReleaseStatus
  /** Why it was refused or withdrawn; for a live release, why its latest update was refused. */
  reason: string | null
  notes: string
  notes_url: string | null
  published_at: string | null
  first_seen_at: string
  updated_at: string
  assets: Partial<Record<Platform, RecordedAsset>>
  was_on_stable: boolean
  /** Channels currently pointing at it. */
  channels: Channel[]
  yanked: { reason: string; at: string } | null
  /** Set while the checksums file is being fetched. */
  pending: { file: string; attempts: number; next_attempt_at: string | null; last_error: string | null } | null
  /** Set while assets are being copied into the R2 mirror (for a live release: its update's). */
  mirror: { attempts: number; next_attempt_at: string | null; last_error: string | null } | null
  /** When it first became live (the soak time on beta counts from here). */
  live_since: string | null
}

export interface SignedManifest {
  channel: Channel
  /** The JWS (General JSON Serialization) exactly as served. */
  body: string
  etag: string
  seq: number
}

export interface ChannelState {
  channel: Channel
  version: string | null
  seq: number
  rollout: { percent: number; halted: boolean; reason: string | null }
  issued_at: string | null
  expires_at: string | null
}

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

/** What yank and unyank answer. */
export interface ReleaseChange {
  release: StoredRelease
  /** Channels re-signed by the change, with their new seq. */
  channels: Partial<Record<Channel, number>>
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

/** `GET /v1/audit`'s page (contract AuditPageSchema); `detail` is the JSON object stored. */
export interface AuditPageData {
  entries: { id: number; at: string; actor: string; action: string; target: string | null; delivery: string | null; detail: Record<string, unknown> }[]
  next_before: number | null
}
