// The scheduled ramp's rules (worker/policy/ramp.ts) with plain data.
import { describe, expect, it } from 'vitest'
import { RAMP_RECHECK_MS, decideRamp, startRamp } from '../../worker/policy/ramp.ts'

const HOUR = 3600
const T0 = Date.parse('2026-11-20T10:00:00Z')
const on = (percent: number, halted = false) => ({ version: '2026.11.3', percent, halted, haltReason: halted ? 'r' : null })

describe('decideRamp', () => {
  const ramp = startRamp('2026.11.3', [1, 10, 50, 100], 6 * HOUR, T0)

  it('starts at its first step with the next one due a period later', () => {
    expect(ramp).toEqual({ version: '2026.11.3', steps: [1, 10, 50, 100], everyS: 6 * HOUR, step: 0, nextAt: T0 + 6 * HOUR * 1000, waiting: null })
  })

  it('does nothing before the next step is due', () => {
    expect(decideRamp(ramp, on(1), true, false, ramp.nextAt - 1)).toEqual({ kind: 'not-due' })
  })

  it('advances one step when due, and ends the ramp at its last step', () => {
    const now = ramp.nextAt
    const d = decideRamp(ramp, on(1), true, false, now)
    expect(d).toEqual({ kind: 'advance', percent: 10, ramp: { ...ramp, step: 1, nextAt: now + 6 * HOUR * 1000 } })
    const last = { ...ramp, step: 2 }
    expect(decideRamp(last, on(50), true, false, now)).toEqual({ kind: 'advance', percent: 100, ramp: null })
  })

  it('waits while the rollout is halted, and while failures are near the guard, looking again within 5 minutes', () => {
    const now = ramp.nextAt + 10
    expect(decideRamp(ramp, on(1, true), true, false, now)).toEqual({ kind: 'wait', why: 'the rollout is halted', retryAt: now + RAMP_RECHECK_MS })
    expect(decideRamp(ramp, on(1), true, true, now)).toEqual({ kind: 'wait', why: 'failures are at half of the failure guard or more', retryAt: now + RAMP_RECHECK_MS })
    const fast = startRamp('2026.11.3', [5, 100], 60, T0)
    expect(decideRamp(fast, on(5, true), true, false, fast.nextAt)).toMatchObject({ kind: 'wait', retryAt: fast.nextAt + 60_000 })
  })

  it('ends when the channel left its version', () => {
    expect(decideRamp(ramp, on(1), false, false, T0)).toEqual({ kind: 'cancel', why: 'the channel left 2026.11.3' })
    expect(decideRamp(ramp, { ...on(1), version: null }, true, false, T0)).toMatchObject({ kind: 'cancel' })
  })
})
