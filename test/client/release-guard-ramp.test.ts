// `cco release promote|rollout --ramp … --every …`, `cco release guard` and what `cco release
// status` shows of the failure guard, a ramp and an auto-halt, in process against a scripted
// stand-in for the broker's admin API.
import { beforeEach, describe, expect, it } from 'vitest'
import { releaseCli, servedChannel } from '../support/release-admin-fake.ts'

const TOKEN = 'cco-test-admin-token-7a1d3e'

const t = releaseCli('cco-release-guard-', TOKEN)
const cco = t.cco

const RAMP = { version: '2026.11.3', steps: [1, 10, 50, 100], every_s: 21600, step: 1, next_percent: 50, next_at: '2026-11-27T02:00:00Z', waiting: null }
const channel = servedChannel

describe('cco release status', () => {
  beforeEach(() => {
    t.fake.answer('GET /v1/channels', {
      body: {
        channels: [
          channel({ ramp: RAMP }),
          channel({ channel: 'beta', version: '2026.11.4', seq: 20, rollout: { percent: 100, halted: true, reason: 'auto-halt: 3 of 40 hosts (7.5 %) failed 2026.11.4', halted_by: 'auto-halt' } }),
        ],
      },
    })
    t.fake.answer('GET /v1/releases', { body: { releases: [] } })
  })

  it('shows who halted and why, the ramp with its next step, and each guard', async () => {
    const r = await cco(['release', 'status'], {})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('yes (by auto-halt): auto-halt: 3 of 40 hosts (7.5 %) failed 2026.11.4')
    expect(r.stdout).toContain('stable: ramp 1 → 10 → 50 → 100%, every 6h, at 10%; next 50% at 2026-11-27 02:00')
    expect(r.stdout).toContain('stable: failure guard halts at ≥ 3 failed hosts and ≥ 5 % of those that attempted the version')
    expect(r.stdout).toContain('beta: failure guard halts at ≥ 3 failed hosts')
  })

  it('says why a ramp waits', async () => {
    t.fake.answer('GET /v1/channels', { body: { channels: [channel({ ramp: { ...RAMP, waiting: 'the rollout is halted' } })] } })
    const r = await cco(['release', 'status'], {})
    expect(r.stdout).toContain('stable: ramp 1 → 10 → 50 → 100%, every 6h, at 10%; waiting for 50%: the rollout is halted')
  })
})

describe('ramps and the guard', () => {
  it('promotes with a ramp: the first step now, the rest by schedule', async () => {
    t.fake.answer('POST /v1/channels/stable/promote', { body: { ...channel({ rollout: { percent: 1, halted: false, reason: null, halted_by: null }, ramp: { ...RAMP, step: 0, next_percent: 10 } }), changed: true } })
    const r = await cco(['release', 'promote', '2026.11.3', '--ramp', '1,10,50,100', '--every', '6h'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(t.fake.requests[0]!.body)).toEqual({ version: '2026.11.3', ramp: { steps: [1, 10, 50, 100], every_s: 21600 } })
    expect(r.stdout).toContain('✅ Promoted 2026.11.3 to stable at 1%')
    expect(r.stdout).toContain('→ stable: ramp 1 → 10 → 50 → 100%, every 6h, at 1%; next 10% at')
  })

  it('rolls out with a ramp on a channel', async () => {
    t.fake.answer('POST /v1/channels/beta/rollout', { body: { ...channel({ channel: 'beta', ramp: { ...RAMP, steps: [5, 100], every_s: 1800, step: 0, next_percent: 100 } }), changed: true } })
    const r = await cco(['release', 'rollout', '--ramp', '5,100', '--every', '30m', '--channel', 'beta'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(t.fake.requests[0]!.body)).toEqual({ ramp: { steps: [5, 100], every_s: 1800 } })
  })

  it('refuses a bad ramp before sending anything (exit 2)', async () => {
    for (const args of [
      ['release', 'rollout', '--ramp', '10,5', '--every', '6h'],
      ['release', 'rollout', '--ramp', '1,10'],
      ['release', 'rollout', '--ramp', '1,10', '--every', '30s'],
      ['release', 'rollout', '20', '--ramp', '1,10', '--every', '6h'],
      ['release', 'rollout'],
      ['release', 'promote', '2026.11.3', '--ramp', '100', '--every', '1h'],
    ]) {
      const r = await cco(args)
      expect(r.code, args.join(' ')).toBe(2)
    }
    expect(t.fake.requests).toHaveLength(0)
  })

  it('sets the failure guard of a channel', async () => {
    t.fake.answer('POST /v1/channels/beta/guard', { body: { ...channel({ channel: 'beta', guard: { min_failures: 5, min_failure_percent: 2.5 } }), changed: true } })
    const r = await cco(['release', 'guard', '--min-failures', '5', '--min-failure-percent', '2.5%', '--channel', 'beta'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(t.fake.requests[0]!.body)).toEqual({ min_failures: 5, min_failure_percent: 2.5 })
    expect(r.stdout).toContain('✅ Set the failure guard of beta')
    expect(r.stdout).toContain('→ beta: failure guard halts at ≥ 5 failed hosts and ≥ 2.5 % of those that attempted the version')
    expect((await cco(['release', 'guard'])).code).toBe(2)
    expect((await cco(['release', 'guard', '--min-failure-percent', '120'])).code).toBe(2)
  })
})
