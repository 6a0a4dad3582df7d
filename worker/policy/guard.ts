// A channel's failure guard, decided from plain data: whether the failures that hosts reported
// for the channel's version since the guard's epoch (the version's arrival on the channel, or
// the last resume) are enough to halt its rollout on its own. The Durable Object gathers the
// counts from the fleet shards and commits the halt through its one write path.
import type { ChannelPointer } from './channels.ts'

export interface Guard {
  /** At least this many hosts failed … */
  minFailures: number
  /** … and they are at least this share (0–100) of the hosts that attempted the version. */
  minFailurePercent: number
}

export const DEFAULT_GUARD: Guard = { minFailures: 3, minFailurePercent: 5 }

/** Evidence kept in the audit entry of an auto-halt: a handful of host ids, never more. */
export const EVIDENCE_HOSTS = 5

/** What the fleet shards counted for (channel, version) since the guard's epoch. */
export interface GuardCounts {
  /** Hosts with an install event to the version, or running it. */
  attempted: number
  /** Hosts whose install failed, that rolled back from it, or whose daemon was unhealthy on it. */
  failed: number
  /** Up to EVIDENCE_HOSTS of the failed hosts' ids. */
  hosts: string[]
  /** Distinct error classes the failures carried. */
  errorClasses: string[]
}

export type GuardDecision =
  | { kind: 'hold'; why: string }
  | { kind: 'trip'; reason: string; evidence: Record<string, unknown> }

/** The share of attempted hosts that failed, in percent; a failed host counts as having attempted. */
export function failurePercent(c: Pick<GuardCounts, 'attempted' | 'failed'>): number {
  const attempted = Math.max(c.attempted, c.failed)
  return attempted === 0 ? 0 : (c.failed / attempted) * 100
}

/** Both thresholds reached: the rollout halts. */
export function guardTripped(guard: Guard, c: Pick<GuardCounts, 'attempted' | 'failed'>): boolean {
  return c.failed > 0 && c.failed >= guard.minFailures && failurePercent(c) >= guard.minFailurePercent
}

/** Either threshold half reached: close enough to tripping that a scheduled ramp should wait. */
export function guardNear(guard: Guard, c: Pick<GuardCounts, 'attempted' | 'failed'>): boolean {
  return c.failed > 0 && (c.failed * 2 >= guard.minFailures || failurePercent(c) * 2 >= guard.minFailurePercent)
}

/**
 * Whether the failures of `version` on a channel halt it now. Only the channel's current,
 * running (not halted) version is halted; counts gathered for a version the channel has since
 * left decide nothing.
 */
export function decideGuard(pointer: ChannelPointer, sameVersion: boolean, guard: Guard, counts: GuardCounts, version: string): GuardDecision {
  if (pointer.version === null || !sameVersion) return { kind: 'hold', why: `the channel is no longer on ${version}` }
  if (pointer.halted) return { kind: 'hold', why: 'the rollout is already halted' }
  if (!guardTripped(guard, counts)) return { kind: 'hold', why: `${counts.failed} of ${Math.max(counts.attempted, counts.failed)} hosts failed, under the guard` }
  const attempted = Math.max(counts.attempted, counts.failed)
  const percent = round1(failurePercent(counts))
  return {
    kind: 'trip',
    reason: `auto-halt: ${counts.failed} of ${attempted} hosts (${percent} %) failed ${version}`,
    evidence: {
      failed: counts.failed,
      attempted,
      failure_percent: percent,
      guard: { min_failures: guard.minFailures, min_failure_percent: guard.minFailurePercent },
      hosts: counts.hosts.slice(0, EVIDENCE_HOSTS),
      error_classes: counts.errorClasses,
    },
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10
}
