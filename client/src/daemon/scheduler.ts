// When the daemon checks next: a pure function of the config, the last completed check and
// what happened to the last attempt, so that every rule is a one-line test.
//
//   updates.enabled = false, or check_interval = never  → no checks (re-evaluated every tick)
//   a network failure since the last check               → retry after 30 s, 1 min, 2 min, …
//                                                          capped at the interval
//   no check ever                                         → now
//   the first cycle of this process, last check older
//   than the interval (the daemon was down)               → now
//   otherwise                                             → last check + interval + jitter
//   an update waits for a maintenance window              → the earlier of that and the
//                                                          host's install point (unless a
//                                                          network failure is backing off)
// where jitter is uniform in [0, 10 % of the interval), drawn once per cycle, so that a
// fleet started together spreads out instead of hitting the broker at the same second.
// Any other failure (a refused manifest, a failed install) counts as the cycle's check: the
// next attempt is at the normal time, not in a tight loop.

export const JITTER_FRACTION = 0.1
export const FIRST_BACKOFF_MS = 30_000
/** Tick length when the next check is far away (the config is re-read on every tick). */
export const IDLE_TICK_MS = 30_000
/** Tick length within NEAR_MS of the next check. */
export const NEAR_TICK_MS = 1_000
export const NEAR_MS = 30_000

export type Failure = { kind: 'network'; at: number; attempts: number } | { kind: 'other'; at: number }

export interface ScheduleInput {
  now: number
  enabled: boolean
  /** null for `never`. */
  intervalMs: number | null
  /** The last completed check (ms since the epoch), by this daemon or any other cco run. */
  lastCheck: number | null
  /** This cycle's jitter (see drawJitterMs). */
  jitterMs: number
  failure: Failure | null
  /** This process has not attempted a check yet. */
  firstCycle: boolean
  /** An update waits for the maintenance window: when this host installs it (window.ts installSlot). */
  installAt?: number | null
}

export type Plan =
  | { kind: 'off'; why: string }
  | { kind: 'due'; at: number; why: 'never-checked' | 'overdue' | 'interval' | 'backoff' | 'install-window' }

export function backoffMs(attempts: number, intervalMs: number): number {
  const n = Math.max(1, attempts)
  return Math.min(FIRST_BACKOFF_MS * 2 ** Math.min(n - 1, 30), intervalMs)
}

/** Uniform in [0, 10 % of the interval); `random` returns [0, 1) like Math.random. */
export function drawJitterMs(intervalMs: number, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON)
  return Math.floor(r * JITTER_FRACTION * intervalMs)
}

export function planNextCheck(i: ScheduleInput): Plan {
  const p = planRegularCheck(i)
  // The check at the install point is the one that installs (under the lock, on a fresh manifest).
  if (p.kind === 'due' && p.why !== 'backoff' && i.installAt != null && i.installAt < p.at) return { kind: 'due', at: i.installAt, why: 'install-window' }
  return p
}

function planRegularCheck(i: ScheduleInput): Plan {
  if (!i.enabled) return { kind: 'off', why: 'updates.enabled is false' }
  if (i.intervalMs === null) return { kind: 'off', why: 'updates.check_interval is never' }
  const f = i.failure
  if (f?.kind === 'network' && (i.lastCheck === null || f.at >= i.lastCheck)) {
    return { kind: 'due', at: f.at + backoffMs(f.attempts, i.intervalMs), why: 'backoff' }
  }
  const otherAt = f?.kind === 'other' ? f.at : null
  const base = Math.max(i.lastCheck ?? -Infinity, otherAt ?? -Infinity)
  if (base === -Infinity) return { kind: 'due', at: i.now, why: 'never-checked' }
  if (i.firstCycle && i.lastCheck !== null && base === i.lastCheck && i.now - i.lastCheck >= i.intervalMs) {
    return { kind: 'due', at: i.now, why: 'overdue' }
  }
  return { kind: 'due', at: base + i.intervalMs + i.jitterMs, why: 'interval' }
}

/** How long to sleep before looking again: short near a check, long otherwise. */
export function tickMs(plan: Plan, now: number): number {
  if (plan.kind === 'off') return IDLE_TICK_MS
  const left = plan.at - now
  if (left <= 0) return 0
  if (left <= NEAR_MS) return Math.min(left, NEAR_TICK_MS)
  return Math.min(left - NEAR_MS, IDLE_TICK_MS)
}

/** `1h 2m 3s`, `45s`, `2d 3h`: for logs and `cco daemon status`. */
export function formatDuration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000))
  const d = Math.floor(s / 86_400)
  s -= d * 86_400
  const h = Math.floor(s / 3600)
  s -= h * 3600
  const m = Math.floor(s / 60)
  s -= m * 60
  const parts: string[] = []
  if (d) parts.push(`${d}d`)
  if (h) parts.push(`${h}h`)
  if (m) parts.push(`${m}m`)
  if (s || parts.length === 0) parts.push(`${s}s`)
  return parts.join(' ')
}
