// What the release engineers' admin calls do to a channel pointer or the yank list, decided
// from plain data: a refusal (with the HTTP status it maps to), "nothing to change", or the
// change with its audit entry. The Durable Object applies a change through its one write path.
import type { Channel } from '../../contract/manifest.ts'
import { compareVersions } from '../../contract/version.ts'
import type { ChannelPointer } from './channels.ts'
import { conflict as conflictRefusal, notFound as notFoundRefusal, type Refusal } from './refusal.ts'

export type AdminDecision =
  | ({ kind: 'refuse' } & Refusal)
  | { kind: 'unchanged' }
  | { kind: 'change'; pointer?: ChannelPointer; audit: { action: string; detail: Record<string, unknown> } }

/** What the object knows of the version an admin call names (null: never seen). */
export interface ReleaseFacts {
  version: string
  status: string
  yanked: { reason: string } | null
  /** ISO 8601: when it first became live. */
  liveSince: string | null
}

const HOUR_MS = 3600 * 1000

const notFound = (message: string): AdminDecision => ({ kind: 'refuse', ...notFoundRefusal(message) })
const conflict = (message: string): AdminDecision => ({ kind: 'refuse', ...conflictRefusal(message) })

export interface PromoteInput {
  channel: Channel
  /** The version as asked for (for messages) and the release it names. */
  asked: string
  release: ReleaseFacts | null
  current: ChannelPointer
  percent?: number
  force?: boolean
  minSoakHours: number
  now: number
}

/** Points `stable` at a version that is on beta (live and not yanked), after its soak time. */
export function decidePromote(i: PromoteInput): AdminDecision {
  if (i.channel === 'beta') return conflict('beta always points at the newest live release; only stable is promoted into')
  if (!i.release) return notFound(`release ${JSON.stringify(i.asked)} not found`)
  const v = i.release.version
  if (i.release.yanked) return conflict(`${v} is yanked, so it is not on beta`)
  if (i.release.status !== 'live') return conflict(`${v} is not on beta (its status is ${i.release.status})`)
  const soakedHours = i.release.liveSince ? (i.now - Date.parse(i.release.liveSince)) / HOUR_MS : 0
  const soakShort = soakedHours < i.minSoakHours
  if (soakShort && !i.force) {
    return conflict(`${v} has been on beta for ${soakedHours.toFixed(1)} h, less than MIN_BETA_SOAK_HOURS (${i.minSoakHours} h); pass "force": true to promote it anyway`)
  }
  const pointer: ChannelPointer = { version: v, percent: i.percent ?? 100, halted: false, haltReason: null }
  if (samePointer(pointer, i.current)) return { kind: 'unchanged' }
  const from = i.current.version
  const detail: Record<string, unknown> = { version: v, from, percent: pointer.percent }
  if (from !== null && compareVersions(v, from) < 0) detail.downgrade = true
  if (i.force) Object.assign(detail, { force: true, soak_skipped: soakShort, soaked_hours: round1(soakedHours), min_soak_hours: i.minSoakHours })
  return { kind: 'change', pointer, audit: { action: 'channel.promoted', detail } }
}

/** Sets the share of hosts that install the channel's version. */
export function decideRollout(channel: Channel, current: ChannelPointer, percent: number): AdminDecision {
  if (current.version === null) return conflict(`channel ${channel} has no release to roll out`)
  if (current.percent === percent) return { kind: 'unchanged' }
  return {
    kind: 'change',
    pointer: { ...current, percent },
    audit: { action: 'channel.rollout', detail: { version: current.version, from_percent: current.percent, percent } },
  }
}

/** Stops the rollout: no host installs the channel's version until it is resumed. */
export function decideHalt(channel: Channel, current: ChannelPointer, reason: string): AdminDecision {
  if (current.version === null) return conflict(`channel ${channel} has no release to halt`)
  if (current.halted) return { kind: 'unchanged' }
  return {
    kind: 'change',
    pointer: { ...current, halted: true, haltReason: reason },
    audit: { action: 'channel.halted', detail: { version: current.version, reason, percent: current.percent } },
  }
}

export function decideResume(channel: Channel, current: ChannelPointer): AdminDecision {
  if (current.version === null) return conflict(`channel ${channel} has no release to resume`)
  if (!current.halted) return { kind: 'unchanged' }
  return {
    kind: 'change',
    pointer: { ...current, halted: false, haltReason: null },
    audit: { action: 'channel.resumed', detail: { version: current.version, halt_reason: current.haltReason, percent: current.percent } },
  }
}

/** Withdraws a version from every channel and lists it in every manifest's `yanked`. */
export function decideYank(asked: string, release: ReleaseFacts | null, reason: string, on: readonly Channel[]): AdminDecision {
  if (!release) return notFound(`release ${JSON.stringify(asked)} not found`)
  if (release.yanked) return conflict(`${release.version} is already yanked (${release.yanked.reason})`)
  return { kind: 'change', audit: { action: 'release.yanked', detail: { reason, status: release.status, channels: on } } }
}

/** Takes a version off the yank list; beta may return to it, stable only by a promotion. */
export function decideUnyank(asked: string, release: ReleaseFacts | null): AdminDecision {
  if (!release) return notFound(`release ${JSON.stringify(asked)} not found`)
  if (!release.yanked) return conflict(`${release.version} is not yanked`)
  return { kind: 'change', audit: { action: 'release.unyanked', detail: { was: release.yanked.reason, status: release.status } } }
}

function samePointer(a: ChannelPointer, b: ChannelPointer): boolean {
  return a.version === b.version && a.percent === b.percent && a.halted === b.halted
}

function round1(n: number): number {
  return Math.round(n * 10) / 10
}
