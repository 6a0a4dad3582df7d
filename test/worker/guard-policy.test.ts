// The failure guard's rules (worker/policy/guard.ts) with plain data.
import { describe, expect, it } from 'vitest'
import { DEFAULT_GUARD, decideGuard, failurePercent, guardNear, guardTripped, type GuardCounts } from '../../worker/policy/guard.ts'

const running = { version: '2026.11.3', percent: 100, halted: false, haltReason: null }
const counts = (failed: number, attempted: number, hosts: string[] = []): GuardCounts => ({ failed, attempted, hosts, errorClasses: [] })

describe('guardTripped', () => {
  it('trips at 3 hosts and 5 % by default, and not below either', () => {
    expect(guardTripped(DEFAULT_GUARD, counts(3, 60))).toBe(true)
    expect(guardTripped(DEFAULT_GUARD, counts(3, 61))).toBe(false)
    expect(guardTripped(DEFAULT_GUARD, counts(2, 2))).toBe(false)
    expect(guardTripped(DEFAULT_GUARD, counts(0, 0))).toBe(false)
  })

  it('counts a failed host as one that attempted the version', () => {
    expect(failurePercent(counts(3, 0))).toBe(100)
    expect(guardTripped(DEFAULT_GUARD, counts(3, 1))).toBe(true)
  })

  it('never trips without a failure, whatever the thresholds', () => {
    expect(guardTripped({ minFailures: 0, minFailurePercent: 0 }, counts(0, 100))).toBe(false)
    expect(guardTripped({ minFailures: 1, minFailurePercent: 0 }, counts(1, 1000))).toBe(true)
  })
})

describe('guardNear', () => {
  it('is near at half of either threshold', () => {
    expect(guardNear(DEFAULT_GUARD, counts(2, 1000))).toBe(true)
    expect(guardNear(DEFAULT_GUARD, counts(1, 40))).toBe(true)
    expect(guardNear(DEFAULT_GUARD, counts(1, 41))).toBe(false)
    expect(guardNear(DEFAULT_GUARD, counts(0, 41))).toBe(false)
  })
})

describe('decideGuard', () => {
  it('halts with a reason that names the counts and the version, and at most 5 hosts as evidence', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e', 'f']
    const d = decideGuard(running, true, DEFAULT_GUARD, { ...counts(6, 40, hosts), errorClasses: ['download'] }, '2026.11.3')
    expect(d).toEqual({
      kind: 'trip',
      reason: 'auto-halt: 6 of 40 hosts (15 %) failed 2026.11.3',
      evidence: { failed: 6, attempted: 40, failure_percent: 15, guard: { min_failures: 3, min_failure_percent: 5 }, hosts: ['a', 'b', 'c', 'd', 'e'], error_classes: ['download'] },
    })
  })

  it('holds for a halted channel, for a version the channel left, and under the thresholds', () => {
    expect(decideGuard({ ...running, halted: true }, true, DEFAULT_GUARD, counts(9, 9), '2026.11.3')).toMatchObject({ kind: 'hold', why: 'the rollout is already halted' })
    expect(decideGuard(running, false, DEFAULT_GUARD, counts(9, 9), '2026.11.2')).toMatchObject({ kind: 'hold', why: 'the channel is no longer on 2026.11.2' })
    expect(decideGuard({ ...running, version: null }, true, DEFAULT_GUARD, counts(9, 9), '2026.11.3')).toMatchObject({ kind: 'hold' })
    expect(decideGuard(running, true, DEFAULT_GUARD, counts(2, 9), '2026.11.3')).toEqual({ kind: 'hold', why: '2 of 9 hosts failed, under the guard' })
  })
})
