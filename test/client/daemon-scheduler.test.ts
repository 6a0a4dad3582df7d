// The daemon's schedule as a pure function: when the next check is due, jitter inside its
// window with pinned randomness, exponential backoff after network failures, tick lengths.
import { describe, expect, it } from 'vitest'
import { backoffMs, drawJitterMs, formatDuration, planNextCheck, tickMs, type ScheduleInput } from '../../client/src/daemon/scheduler.ts'

const HOUR = 3_600_000
const T0 = Date.parse('2026-11-20T10:00:00Z')

function input(o: Partial<ScheduleInput> = {}): ScheduleInput {
  return { now: T0, enabled: true, intervalMs: HOUR, lastCheck: T0 - 10 * 60_000, jitterMs: 0, failure: null, firstCycle: false, ...o }
}

describe('planNextCheck', () => {
  it('schedules the next check at last_check + interval + jitter', () => {
    expect(planNextCheck(input({ jitterMs: 123_000 }))).toEqual({ kind: 'due', at: T0 - 10 * 60_000 + HOUR + 123_000, why: 'interval' })
  })

  it('checks at once when there was never a check', () => {
    expect(planNextCheck(input({ lastCheck: null }))).toEqual({ kind: 'due', at: T0, why: 'never-checked' })
  })

  it('checks at once on start when the last check is older than the interval', () => {
    expect(planNextCheck(input({ lastCheck: T0 - HOUR, firstCycle: true, jitterMs: 300_000 }))).toEqual({ kind: 'due', at: T0, why: 'overdue' })
  })

  it('keeps the jitter for a running daemon whose interval just elapsed', () => {
    const plan = planNextCheck(input({ lastCheck: T0 - HOUR, firstCycle: false, jitterMs: 300_000 }))
    expect(plan).toEqual({ kind: 'due', at: T0 + 300_000, why: 'interval' })
  })

  it('does not check when updates are disabled or the interval is never', () => {
    expect(planNextCheck(input({ enabled: false }))).toEqual({ kind: 'off', why: 'updates.enabled is false' })
    expect(planNextCheck(input({ intervalMs: null, lastCheck: null }))).toEqual({ kind: 'off', why: 'updates.check_interval is never' })
  })

  it('backs off exponentially after network failures, capped at the interval', () => {
    const at = T0 - 1000
    const plan = (attempts: number, intervalMs = HOUR) => planNextCheck(input({ intervalMs, failure: { kind: 'network', at, attempts } }))
    expect(plan(1)).toEqual({ kind: 'due', at: at + 30_000, why: 'backoff' })
    expect(plan(2)).toEqual({ kind: 'due', at: at + 60_000, why: 'backoff' })
    expect(plan(3)).toEqual({ kind: 'due', at: at + 120_000, why: 'backoff' })
    expect(plan(20)).toEqual({ kind: 'due', at: at + HOUR, why: 'backoff' })
    expect(plan(1, 2_000)).toEqual({ kind: 'due', at: at + 2_000, why: 'backoff' })
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffMs(n, HOUR) / 1000)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600])
  })

  it('forgets a network failure once a later check completed (e.g. a manual cco update --check)', () => {
    const plan = planNextCheck(input({ lastCheck: T0, failure: { kind: 'network', at: T0 - 5_000, attempts: 3 } }))
    expect(plan).toEqual({ kind: 'due', at: T0 + HOUR, why: 'interval' })
  })

  it('after a refusal or failed install, tries again at the normal time rather than at once', () => {
    const plan = planNextCheck(input({ lastCheck: T0 - 2 * HOUR, failure: { kind: 'other', at: T0 - 60_000 }, firstCycle: false, jitterMs: 5 }))
    expect(plan).toEqual({ kind: 'due', at: T0 - 60_000 + HOUR + 5, why: 'interval' })
  })
})

describe('jitter', () => {
  it('stays in [0, 10 % of the interval) for any random value, including the extremes', () => {
    expect(drawJitterMs(HOUR, () => 0)).toBe(0)
    expect(drawJitterMs(HOUR, () => 0.5)).toBe(180_000)
    const top = drawJitterMs(HOUR, () => 0.999999999)
    expect(top).toBeLessThan(360_000)
    expect(top).toBeGreaterThan(359_000)
    // A source that misbehaves (returns 1) still lands inside the window.
    expect(drawJitterMs(HOUR, () => 1)).toBeLessThan(360_000)
  })

  it('keeps every check of a fleet inside its window [last + interval, last + 1.1 × interval)', () => {
    let seed = 42
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const last = T0
    const times = Array.from({ length: 500 }, () => {
      const plan = planNextCheck(input({ lastCheck: last, jitterMs: drawJitterMs(HOUR, random) }))
      return plan.kind === 'due' ? plan.at : NaN
    })
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(last + HOUR)
      expect(t).toBeLessThan(last + 1.1 * HOUR)
    }
    // Spread out, not bunched: every tenth of the window gets some hosts.
    const buckets = new Set(times.map((t) => Math.floor(((t - last - HOUR) / (0.1 * HOUR)) * 10)))
    expect(buckets.size).toBe(10)
  })
})

describe('tickMs', () => {
  it('wakes at most every second near a check and every 30 s otherwise', () => {
    expect(tickMs({ kind: 'off', why: '' }, T0)).toBe(30_000)
    expect(tickMs({ kind: 'due', at: T0 + 10 * 60_000, why: 'interval' }, T0)).toBe(30_000)
    expect(tickMs({ kind: 'due', at: T0 + 45_000, why: 'interval' }, T0)).toBe(15_000)
    expect(tickMs({ kind: 'due', at: T0 + 20_000, why: 'interval' }, T0)).toBe(1_000)
    expect(tickMs({ kind: 'due', at: T0 + 300, why: 'interval' }, T0)).toBe(300)
    expect(tickMs({ kind: 'due', at: T0 - 5, why: 'interval' }, T0)).toBe(0)
  })
})

describe('formatDuration', () => {
  it('prints uptimes the way cco daemon status shows them', () => {
    expect(formatDuration(3_723_000)).toBe('1h 2m 3s')
    expect(formatDuration(0)).toBe('0s')
    expect(formatDuration(90_061_000)).toBe('1d 1h 1m 1s')
    expect(formatDuration(2_000)).toBe('2s')
  })
})
