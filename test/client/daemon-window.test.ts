// The daemon and the maintenance window: the schedule wakes at the host's install point when
// that comes before the next check (scheduler.ts, service-state.ts, time passed in), and real
// daemons against a local signed-manifest server: with a closed window an update found is logged
// as waiting and not installed; with an open one it is installed and the daemon restarts into it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LoadedConfig } from '../../client/src/config/load.ts'
import { ConfigSchema } from '../../client/src/config/schema.ts'
import { planNextCheck, type ScheduleInput } from '../../client/src/daemon/scheduler.ts'
import { ServiceState } from '../../client/src/daemon/service-state.ts'
import { show } from '../../support/cco-process.ts'
import { daemonHost, isAlive, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { startUpdateFixture, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const MIN = 60_000
const HOUR = 60 * MIN
// Tuesday 2026-12-01 00:00 UTC.
const T0 = Date.parse('2026-12-01T00:00:00Z')

function input(o: Partial<ScheduleInput> = {}): ScheduleInput {
  return { now: T0, enabled: true, intervalMs: 24 * HOUR, lastCheck: T0, jitterMs: 0, failure: null, firstCycle: false, ...o }
}

describe('planNextCheck with an install point', () => {
  it('wakes at the install point when it comes before the next check', () => {
    expect(planNextCheck(input({ installAt: T0 + 2 * HOUR }))).toEqual({ kind: 'due', at: T0 + 2 * HOUR, why: 'install-window' })
  })

  it('keeps the next check when that comes first, and ignores no install point', () => {
    expect(planNextCheck(input({ intervalMs: HOUR, installAt: T0 + 2 * HOUR }))).toEqual({ kind: 'due', at: T0 + HOUR, why: 'interval' })
    expect(planNextCheck(input({ installAt: null }))).toEqual({ kind: 'due', at: T0 + 24 * HOUR, why: 'interval' })
  })

  it('lets a network failure back off instead of retrying at an install point that has passed', () => {
    const plan = planNextCheck(input({ failure: { kind: 'network', at: T0 + 10, attempts: 1 }, installAt: T0 }))
    expect(plan).toEqual({ kind: 'due', at: T0 + 10 + 30_000, why: 'backoff' })
  })
})

function loaded(updates: Record<string, unknown>): LoadedConfig {
  const raw = { updates: { check_interval: 'daily', auto_install: true, ...updates } }
  return { path: '/home/me/.config/cco/config.toml', text: null, raw, config: ConfigSchema.parse(raw) }
}

function state(updates: Record<string, unknown> = { window: 'Tue 02:00-03:00 UTC' }): ServiceState {
  return new ServiceState({ loaded: loaded(updates), host: '127.0.0.1', port: 3000, portOverride: false, version: '1.2.3', pid: 4242, startedAt: T0, random: () => 0 })
}

const waiting = { kind: 'waiting' as const, latest: '1.2.4', version: '1.2.4', bucket: 50, installAt: Date.parse('2026-12-01T02:22:30Z') }

describe('ServiceState with an update waiting for the window', () => {
  it('plans the install point, shows it on /health, and drops it once the update is installed', () => {
    const s = state()
    s.checkFinished(waiting, T0)
    expect(s.plan(T0 + MIN)).toEqual({ kind: 'due', at: waiting.installAt, why: 'install-window' })
    expect(s.health(T0 + MIN)).toMatchObject({ update_available: true, latest_version: '1.2.4', next_install_at: '2026-12-01T02:22:30Z' })
    expect(s.nextStep(waiting.installAt)).toEqual({ kind: 'check' })
    s.checkFinished({ kind: 'installed', version: '1.2.4', latest: '1.2.4' }, waiting.installAt + 5_000)
    expect(s.health(waiting.installAt + 6_000)).not.toHaveProperty('next_install_at')
    expect(s.plan(waiting.installAt + 6_000)).toMatchObject({ why: 'interval' })
  })

  it('follows a changed window, and installs at once when the window is removed', () => {
    const s = state()
    s.checkFinished(waiting, T0)
    s.configLoaded(loaded({ window: 'Tue 05:00-06:00' }), null)
    expect(s.plan(T0 + MIN)).toEqual({ kind: 'due', at: Date.parse('2026-12-01T05:22:30Z'), why: 'install-window' })
    s.configLoaded(loaded({}), null)
    expect(s.plan(T0 + MIN)).toEqual({ kind: 'due', at: T0 + MIN, why: 'install-window' })
  })

  it('forgets the install point when auto_install is turned off or a check finds nothing', () => {
    const s = state()
    s.checkFinished(waiting, T0)
    s.configLoaded(loaded({ window: 'Tue 02:00-03:00 UTC', auto_install: false }), null)
    expect(s.plan(T0 + MIN)).toMatchObject({ why: 'interval' })
    const t = state()
    t.checkFinished(waiting, T0)
    t.checkFinished({ kind: 'checked', latest: '1.2.4', updateAvailable: false }, T0 + MIN)
    expect(t.plan(T0 + 2 * MIN)).toMatchObject({ why: 'interval' })
  })

  it('says in the schedule line that auto-install waits for the window', () => {
    const notes = state({}).configLoaded(loaded({ window: ['Tue 02:00-03:00 UTC', 'sat,sun 1:00-5:00'] }), null)
    expect(notes).toEqual([
      { level: 'info', message: expect.stringMatching(/\(auto-install on, inside the maintenance window Tue 02:00-03:00 UTC; Sat,Sun 01:00-05:00 UTC\)$/) },
    ])
  })
})

/** `daily HH:MM-HH:MM` from minutes relative to now (UTC, wrapping at midnight). */
function dailyWindow(fromMin: number, toMin: number): string {
  const minuteNow = Math.floor((Date.now() % (24 * HOUR)) / MIN)
  const hhmm = (m: number) => {
    const x = (((minuteNow + m) % 1440) + 1440) % 1440
    return `${String(Math.floor(x / 60)).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}`
  }
  return `daily ${hhmm(fromMin)}-${hhmm(toMin)} UTC`
}

describe('a real daemon with auto_install and a maintenance window', () => {
  let fx: UpdateFixture
  const hosts: DaemonHost[] = []
  beforeAll(async () => {
    fx = await startUpdateFixture()
    await fx.publish({ version: VERSION_B })
  }, 60_000)
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.teardown()))
    await fx?.close()
  }, 60_000)

  async function host(window: string): Promise<DaemonHost> {
    const h = await daemonHost({ installed: fx.bundles[VERSION_A]!, config: { server: fx.server.url, keys: [fx.signer.publicKey], autoInstall: true, interval: 'hourly', window } })
    hosts.push(h)
    return h
  }

  it('with the window closed: logs the update as waiting with the install point, installs nothing, /health shows when', { timeout: 60_000 }, async () => {
    const window = dailyWindow(120, 180)
    const h = await host(window)
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const line = await h.waitForLog(/Update \S+ waiting for the maintenance window [^\n]+/, 20_000)
    const text = h.log()
    expect(text).toMatch(
      new RegExp(`\\[INFO\\] Update ${VERSION_B.replace(/\./g, '\\.')} waiting for the maintenance window ${window}, installing at \\d\\d:\\d\\d(:\\d\\d)? UTC( on \\w{3} \\d{4}-\\d\\d-\\d\\d)?$`, 'm'),
    )
    expect(text).toContain(`(auto-install on, inside the maintenance window ${window})`)
    expect(text).not.toContain('Installing update...')
    const health = await h.health()
    expect(health?.body).toMatchObject({ version: VERSION_A, update_available: true, latest_version: VERSION_B })
    const at = Date.parse(String(health?.body.next_install_at))
    expect(at - Date.now()).toBeGreaterThan(110 * MIN)
    expect(at - Date.now()).toBeLessThan(180 * MIN)
    expect((await h.cco(['--version'])).stdout).toBe(`cco ${VERSION_A}\n`)
    expect(line).toBeTruthy()
  })

  it('wakes at its install point when the window opens, and installs then, not before', { timeout: 200_000 }, async () => {
    // Opens at the next minute but one (60–120 s from now), one minute long: the point is at most 45 s in.
    const h = await host(dailyWindow(2, 3))
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const waitingLine = await h.waitForLog(/waiting for the maintenance window [^\n]+, installing at (\d\d:\d\d(?::\d\d)?) UTC/, 20_000)
    const point = /installing at (\d\d:\d\d(?::\d\d)?) UTC/.exec(waitingLine)![1]!
    await h.waitForHealth({ version: VERSION_B, timeoutMs: 190_000 })
    const installing = /^\[\d{4}-\d\d-\d\d (\d\d:\d\d:\d\d) UTC\] \[INFO\] Installing update\.\.\.$/m.exec(h.log())
    expect(installing, h.log()).not.toBeNull()
    // Same day (the window opens within two minutes; a run across midnight compares as text wrongly only then).
    const full = point.length === 5 ? `${point}:00` : point
    if (full < '23:55:00') expect(installing![1]! >= full, `installed at ${installing![1]}, point ${full}`).toBe(true)
  })

  it('with the window open (and the host past its point in it): installs and restarts into the update', { timeout: 90_000 }, async () => {
    // Opened 23 h 50 min ago, closes in 5 min: every bucket's point is at least 20 min past.
    const h = await host(dailyWindow(10, 5))
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pidA = h.pidRecord()!.pid
    const health = await h.waitForHealth({ version: VERSION_B, timeoutMs: 60_000 })
    expect(health.body.pid).not.toBe(pidA)
    await waitFor('the old daemon to exit', () => !isAlive(pidA))
    expect((await h.cco(['--version'])).stdout).toBe(`cco ${VERSION_B}\n`)
    expect(h.log()).toContain(`Successfully updated to ${VERSION_B}`)
    expect(h.log()).not.toContain('waiting for the maintenance window')
  })

  it('with the window closed but the running version yanked: moves at once (the yank is the safety valve)', { timeout: 90_000 }, async () => {
    await fx.publish({ version: VERSION_B, yanked: [{ version: VERSION_A, reason: 'corrupts config' }] })
    const window = dailyWindow(120, 180)
    const h = await host(window)
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    await h.waitForHealth({ version: VERSION_B, timeoutMs: 60_000 })
    expect(h.log()).toContain(`Installing ${VERSION_B} outside the maintenance window ${window}: the running version was yanked`)
    expect(h.log()).not.toContain('waiting for the maintenance window')
    expect((await h.cco(['--version'])).stdout).toBe(`cco ${VERSION_B}\n`)
  })
})
