// The failure guard through the real Worker: fleet reports of failed installs of the channel's
// version halt its rollout on their own once both thresholds are reached, with a new signed
// manifest that says `halted`, an audit entry with actor `auto-halt` and its evidence; a resume
// makes the guard count afresh; the thresholds are set per channel through the admin API.
import { createScheduledController, reset } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../worker/index.ts'
import { Served } from '../../contract/api.ts'
import { postReport, report, uuid } from './fleet-helpers.ts'
import { adminCall, adminPost, auditLog, channelState, fakeNetwork, getManifest, publish, stub } from './helpers.ts'

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

const V = '2026.11.3'

/** A host on beta that installed `V` and runs it. */
const installed = () =>
  report(uuid(), { channel: 'beta', version: V, events: [{ kind: 'install', outcome: 'installed', from: '2026.11.2', to: V, at: new Date().toISOString() }] })

/** A host on beta whose install of `V` failed (it still runs the version before). */
const failed = (errorClass = 'download') =>
  report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: V, error_class: errorClass, at: new Date().toISOString() }] })

async function post(reports: ReturnType<typeof report>[]): Promise<void> {
  for (const r of reports) {
    const answer = await postReport(r)
    expect(answer.status).toBe(202)
  }
}

/** The guard's verdict once every evaluation the reports started has run (a call joins a running one). */
async function settle() {
  return stub().evaluateGuard('beta')
}

async function haltedOnItsOwn(): Promise<void> {
  for (let i = 0; i < 100 && !(await channelState('beta')).rollout.halted; i++) await new Promise((r) => setTimeout(r, 20))
}

describe('auto-halt', () => {
  it('halts a release that fails on 3 of 40 hosts, with a new signed manifest and the evidence in the audit log', async () => {
    await publish(V)
    const before = (await getManifest('beta')).payload
    expect(before.rollout.halted).toBe(false)

    await post([...Array.from({ length: 37 }, installed), failed('download'), failed('verify'), failed('download')])
    await haltedOnItsOwn()

    const state = await channelState('beta')
    expect(state.rollout).toEqual({ percent: 100, halted: true, reason: `auto-halt: 3 of 40 hosts (7.5 %) failed ${V}`, halted_by: 'auto-halt' })
    // Every other host's next check sees the halt in the signed manifest (a new seq).
    const after = await getManifest('beta')
    expect(after.payload.rollout).toMatchObject({ halted: true })
    expect(after.payload.seq).toBe(before.seq + 1)

    const audit = await auditLog()
    const halt = audit.find((e) => e.action === 'channel.halted')!
    expect(halt).toMatchObject({ actor: 'auto-halt', target: 'beta' })
    expect(halt.detail).toMatchObject({
      version: V,
      auto: true,
      evidence: { failed: 3, attempted: 40, failure_percent: 7.5, guard: { min_failures: 3, min_failure_percent: 5 }, error_classes: ['download', 'verify'] },
    })
    expect(halt.detail.evidence.hosts).toHaveLength(3)
    expect(audit.at(-1)).toMatchObject({ actor: 'auto-halt', action: 'manifest.signed', target: 'beta', detail: { seq: after.payload.seq, version: V } })

    // GET /v1/channels shows the halt's actor and the guard.
    const list = await adminCall('GET', '/v1/channels')
    const beta = Served.ChannelList.parse(list.body).channels.find((c) => c.channel === 'beta')!
    expect(beta.rollout.halted_by).toBe('auto-halt')
    expect(beta.guard).toEqual({ min_failures: 3, min_failure_percent: 5 })
  })

  it('holds while fewer than 3 hosts failed, or while the failures are under 5 % of the hosts that attempted the version', async () => {
    await publish(V)
    await post([...Array.from({ length: 10 }, installed), failed(), failed()])
    expect(await settle()).toMatchObject({ outcome: 'hold', counts: { attempted: 12, failed: 2 } })
    expect((await channelState('beta')).rollout.halted).toBe(false)

    // 3 of 70: 4.3 %, under 5 %.
    await post(Array.from({ length: 58 }, installed))
    await post([failed()])
    expect(await settle()).toMatchObject({ outcome: 'hold', counts: { attempted: 71, failed: 3 } })
    expect((await channelState('beta')).rollout.halted).toBe(false)
  })

  it('counts failures of the channel’s version only, on that channel only', async () => {
    await publish(V)
    const other = () => report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: '2026.11.9', at: new Date().toISOString() }] })
    const stableHost = () => report(uuid(), { channel: 'stable', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: V, at: new Date().toISOString() }] })
    await post([other(), other(), other(), stableHost(), stableHost(), stableHost()])
    expect(await settle()).toMatchObject({ outcome: 'hold', counts: { failed: 0 } })
    expect((await channelState('beta')).rollout.halted).toBe(false)
  })

  it('counts rollbacks from the version and unhealthy daemons on it as failures', async () => {
    await publish(V)
    await post([
      report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'rollback', outcome: 'rolled-back', from: V, to: '2026.11.2', error_class: 'health', at: new Date().toISOString() }] }),
      report(uuid(), { channel: 'beta', version: V, events: [{ kind: 'health', outcome: 'unhealthy', from: '2026.11.2', to: V, error_class: 'health', at: new Date().toISOString() }] }),
      report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: V, at: new Date().toISOString() }] }),
    ])
    await haltedOnItsOwn()
    expect((await channelState('beta')).rollout).toMatchObject({ halted: true, reason: `auto-halt: 3 of 3 hosts (100 %) failed ${V}` })
  })

  it('counts afresh after a resume: failures from before it do not halt again', async () => {
    await publish(V)
    await post([...Array.from({ length: 7 }, installed), failed(), failed(), failed()])
    await haltedOnItsOwn()
    expect((await channelState('beta')).rollout.halted).toBe(true)

    const resumed = await adminPost('/v1/channels/beta/resume')
    expect(resumed.status).toBe(200)
    expect(resumed.body.rollout).toEqual({ percent: 100, halted: false, reason: null, halted_by: null })
    await new Promise((r) => setTimeout(r, 5))
    await post([failed(), failed()])
    expect(await settle()).toMatchObject({ outcome: 'hold', counts: { failed: 2 } })
    expect((await channelState('beta')).rollout.halted).toBe(false)

    await post([failed()])
    await haltedOnItsOwn()
    expect((await channelState('beta')).rollout).toMatchObject({ halted: true, halted_by: 'auto-halt' })
    expect((await auditLog()).filter((e) => e.action === 'channel.halted' && e.actor === 'auto-halt')).toHaveLength(2)
  })

  it('leaves a manual halt alone, and tells the public only that an admin halted it', async () => {
    await publish(V)
    const halted = await adminPost('/v1/channels/beta/halt', { reason: 'crash reports' })
    expect(halted.body.rollout).toEqual({ percent: 100, halted: true, reason: 'crash reports', halted_by: 'admin' })
    await post([failed(), failed(), failed()])
    expect(await settle()).toMatchObject({ outcome: 'hold', why: 'the rollout is already halted' })
    expect((await channelState('beta')).rollout.reason).toBe('crash reports')
  })
})

describe('the cron as a safety net', () => {
  it('halts a channel whose failures reach the guard even when no report evaluation did', async () => {
    await publish(V)
    await post([...Array.from({ length: 10 }, installed), failed(), failed()])
    expect(await settle()).toMatchObject({ outcome: 'hold' })
    // Lowering the guard evaluates nothing by itself; the next scheduled run does.
    expect((await adminPost('/v1/channels/beta/guard', { min_failures: 2 })).status).toBe(200)
    expect((await channelState('beta')).rollout.halted).toBe(false)
    vi.spyOn(console, 'error').mockImplementation(() => {})
    fakeNetwork({})
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '*/30 * * * *' }), env)
    expect((await channelState('beta')).rollout).toMatchObject({ halted: true, halted_by: 'auto-halt', reason: `auto-halt: 2 of 12 hosts (16.7 %) failed ${V}` })
  })
})

describe('POST /v1/channels/{channel}/guard', () => {
  it('sets the thresholds, audited, and the guard trips on them', async () => {
    await publish(V)
    const set = await adminPost('/v1/channels/beta/guard', { min_failures: 1, min_failure_percent: 0 })
    expect(set.status).toBe(200)
    expect(Served.ChannelChange.parse(set.body)).toMatchObject({ channel: 'beta', changed: true, guard: { min_failures: 1, min_failure_percent: 0 } })
    const again = await adminPost('/v1/channels/beta/guard', { min_failures: 1 })
    expect(again.body.changed).toBe(false)
    expect((await auditLog()).filter((e) => e.action === 'channel.guard_set')).toEqual([
      expect.objectContaining({ actor: 'token:release-bot', target: 'beta', detail: { from: { min_failures: 3, min_failure_percent: 5 }, min_failures: 1, min_failure_percent: 0 } }),
    ])

    await post([...Array.from({ length: 30 }, installed), failed()])
    await haltedOnItsOwn()
    expect((await channelState('beta')).rollout).toMatchObject({ halted: true, reason: `auto-halt: 1 of 31 hosts (3.2 %) failed ${V}` })
  })

  it('refuses thresholds out of range and unknown channels, changing nothing', async () => {
    expect((await adminPost('/v1/channels/beta/guard', { min_failure_percent: 101 })).status).toBe(422)
    expect((await adminPost('/v1/channels/beta/guard', { min_failures: 0 })).status).toBe(422)
    expect((await adminPost('/v1/channels/nightly/guard', { min_failures: 2 })).status).toBe(404)
    expect((await adminPost('/v1/channels/beta/guard', { min_failures: 2 }, null)).status).toBe(401)
    expect((await channelState('beta')).guard).toEqual({ min_failures: 3, min_failure_percent: 5 })
  })
})
