// Scheduled ramps through the real Worker: a rollout or promotion with a ramp starts at its first
// step and the broker's alarm moves it on, each step a signed change with actor `scheduler`; a
// step waits while the rollout is halted or its failures are near the guard, and goes on after a
// resume; a manual rollout, halt or promotion, or the channel leaving the version, ends the ramp.
import { reset, runDurableObjectAlarm } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import { Served } from '../../contract/api.ts'
import { postReport, report, uuid } from './fleet-helpers.ts'
import { adminPost, auditLog, channelState, dropEdgeCache, getManifest, makeRampsDue, publish, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

const V = '2026.11.3'
const RAMP = { steps: [1, 10, 50, 100], every_s: 21600 }

/** Makes the next step due and runs the alarm, then reads the channel and its manifest as hosts do. */
async function tick() {
  await makeRampsDue()
  expect(await runDurableObjectAlarm(stub())).toBe(true)
  await dropEdgeCache()
  return { state: await channelState('beta'), manifest: (await getManifest('beta')).payload }
}

const failed = () =>
  report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: V, error_class: 'download', at: new Date().toISOString() }] })
const installed = () => report(uuid(), { channel: 'beta', version: V, events: [{ kind: 'install', outcome: 'installed', from: '2026.11.2', to: V, at: new Date().toISOString() }] })

describe('scheduled ramps', () => {
  it('advances step by step from the alarm, waits while auto-halted, goes on after a resume and ends at its last step', async () => {
    await publish(V)
    const started = await adminPost('/v1/channels/beta/rollout', { ramp: RAMP })
    expect(started.status).toBe(200)
    const answer = Served.ChannelChange.parse(started.body)
    expect(answer).toMatchObject({ changed: true, rollout: { percent: 1 }, ramp: { version: V, steps: [1, 10, 50, 100], every_s: 21600, step: 0, next_percent: 10, waiting: null } })
    expect(Date.parse(answer.ramp!.next_at) - Date.now()).toBeGreaterThan(21590 * 1000)
    const seq0 = (await getManifest('beta')).payload.seq

    let t = await tick()
    expect(t.state.rollout.percent).toBe(10)
    expect(t.state.ramp).toMatchObject({ step: 1, next_percent: 50, waiting: null })
    expect(t.manifest).toMatchObject({ seq: seq0 + 1, rollout: { percent: 10 } })
    expect((await auditLog()).filter((e) => e.action === 'channel.ramp_step')).toEqual([
      expect.objectContaining({ actor: 'scheduler', target: 'beta', detail: { version: V, from_percent: 1, percent: 10, step: 1, steps: [1, 10, 50, 100], done: false } }),
    ])

    // Three hosts fail: the guard halts the rollout, and the ramp waits, saying why.
    for (const r of [failed(), failed(), failed()]) expect((await postReport(r)).status).toBe(202)
    await stub().evaluateGuard('beta')
    expect((await channelState('beta')).rollout.halted).toBe(true)
    t = await tick()
    expect(t.state.rollout).toMatchObject({ percent: 10, halted: true })
    expect(t.state.ramp).toMatchObject({ step: 1, next_percent: 50, waiting: 'the rollout is halted' })
    expect((await auditLog()).filter((e) => e.action === 'channel.ramp_waiting')).toHaveLength(1)

    expect((await adminPost('/v1/channels/beta/resume')).status).toBe(200)
    t = await tick()
    expect(t.state.rollout).toMatchObject({ percent: 50, halted: false })
    expect(t.state.ramp).toMatchObject({ step: 2, next_percent: 100, waiting: null })

    t = await tick()
    expect(t.state.rollout.percent).toBe(100)
    expect(t.state.ramp).toBeNull()
    expect(t.manifest.rollout.percent).toBe(100)
    expect((await auditLog()).filter((e) => e.action === 'channel.ramp_step').map((e) => [e.detail.percent, e.detail.done])).toEqual([[10, false], [50, false], [100, true]])
  })

  it('waits while failures are at half of the guard, without halting', async () => {
    await publish(V)
    await adminPost('/v1/channels/beta/rollout', { ramp: RAMP })
    for (const r of [...Array.from({ length: 100 }, installed), failed(), failed()]) expect((await postReport(r)).status).toBe(202)
    expect(await stub().evaluateGuard('beta')).toMatchObject({ outcome: 'hold' })
    const t = await tick()
    expect(t.state.rollout).toMatchObject({ percent: 1, halted: false })
    expect(t.state.ramp?.waiting).toBe('failures are at half of the failure guard or more')
  })

  it('ends when a manual rollout takes over, audited, and the alarm then changes nothing', async () => {
    await publish(V)
    await adminPost('/v1/channels/beta/rollout', { ramp: RAMP })
    const manual = await adminPost('/v1/channels/beta/rollout', { percent: 30 })
    expect(manual.body).toMatchObject({ changed: true, rollout: { percent: 30 }, ramp: null })
    expect((await auditLog()).find((e) => e.action === 'channel.ramp_cancelled')).toMatchObject({ actor: 'token:release-bot', detail: { version: V, why: 'a manual rollout' } })
    await runDurableObjectAlarm(stub())
    expect((await channelState('beta')).rollout.percent).toBe(30)
  })

  it('ends when the channel moves to another version, and a promotion to stable can ramp', async () => {
    await publish(V)
    await adminPost('/v1/channels/beta/rollout', { ramp: RAMP })
    await publish('2026.11.4')
    const beta = await channelState('beta')
    expect(beta).toMatchObject({ version: '2026.11.4', rollout: { percent: 100 }, ramp: null })
    expect((await auditLog()).find((e) => e.action === 'channel.ramp_cancelled')).toMatchObject({ detail: { version: V, why: 'the channel moved to 2026.11.4' } })

    const promoted = await adminPost('/v1/channels/stable/promote', { version: V, force: true, ramp: { steps: [5, 100], every_s: 60 } })
    expect(promoted.status).toBe(200)
    expect(promoted.body).toMatchObject({ version: V, rollout: { percent: 5 }, ramp: { steps: [5, 100], step: 0, next_percent: 100 } })
  })

  it('refuses a ramp whose steps do not increase, with too few or too many steps, too short a period, or next to a percent', async () => {
    await publish(V)
    for (const ramp of [{ steps: [10, 5], every_s: 60 }, { steps: [100], every_s: 60 }, { steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], every_s: 60 }, { steps: [1, 100], every_s: 59 }, { steps: [0, 100], every_s: 60 }]) {
      expect((await adminPost('/v1/channels/beta/rollout', { ramp })).status).toBe(422)
    }
    expect((await adminPost('/v1/channels/beta/rollout', { percent: 5, ramp: RAMP })).status).toBe(422)
    expect((await adminPost('/v1/channels/beta/rollout', {})).status).toBe(422)
    expect((await channelState('beta')).ramp).toBeNull()
  })
})
