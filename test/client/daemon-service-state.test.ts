// The daemon loop's parts on their own: what the service knows between ticks and how checks,
// config re-reads and time change it (daemon/service-state.ts), and what signals ask of the
// loop (daemon/service-signals.ts). Real objects; time is a number passed in.
import { describe, expect, it } from 'vitest'
import type { LoadedConfig } from '../../client/src/config/load.ts'
import { ConfigSchema } from '../../client/src/config/schema.ts'
import { ExitCode } from '../../client/src/errors.ts'
import { ServiceSignals } from '../../client/src/daemon/service-signals.ts'
import { ServiceState, type ServiceStateOptions } from '../../client/src/daemon/service-state.ts'

const HOUR = 3_600_000
const T0 = Date.parse('2026-11-20T10:00:00Z')

function loaded(config: Record<string, unknown> = {}): LoadedConfig {
  return { path: '/home/me/.config/cco/config.toml', text: null, raw: config, config: ConfigSchema.parse(config) }
}

function state(o: Partial<ServiceStateOptions> = {}): ServiceState {
  return new ServiceState({
    loaded: loaded({ updates: { check_interval: 'hourly' } }),
    host: '127.0.0.1',
    port: 3000,
    portOverride: false,
    version: '1.2.3',
    pid: 4242,
    startedAt: T0,
    random: () => 0,
    ...o,
  })
}

describe('ServiceState: the scheduled checks', () => {
  it('checks at once on the first tick when there was never a check, then sleeps until the next one', () => {
    const s = state()
    expect(s.nextStep(T0)).toEqual({ kind: 'check' })
    expect(s.checkFinished({ kind: 'checked', latest: '1.2.3', updateAvailable: false }, T0 + 5_000)).toEqual({ restartInto: null, notes: [] })
    const step = s.nextStep(T0 + 6_000)
    expect(step).toEqual({ kind: 'sleep', ms: 30_000, note: { level: 'debug', message: 'Next check in 59m 59s (interval)' } })
  })

  it('announces the next check once, not on every tick that waits for it', () => {
    const s = state({ loaded: loaded({ updates: { check_interval: 'hourly', last_check: new Date(T0 - 10 * 60_000) } }) })
    expect(s.nextStep(T0)).toMatchObject({ kind: 'sleep', note: { message: 'Next check in 50m (interval)' } })
    expect(s.nextStep(T0 + 30_000)).toMatchObject({ kind: 'sleep', note: null })
  })

  it('checks at once on start when the last check is older than the interval, but not again on the next cycle', () => {
    const s = state({ loaded: loaded({ updates: { check_interval: 'hourly', last_check: new Date(T0 - 2 * HOUR) } }), random: () => 0.5 })
    expect(s.nextStep(T0)).toEqual({ kind: 'check' })
    s.checkFinished({ kind: 'checked', latest: null, updateAvailable: false }, T0)
    // The next cycle keeps its jitter: 5 % of the hour after the interval.
    expect(s.plan(T0 + HOUR)).toEqual({ kind: 'due', at: T0 + HOUR + 180_000, why: 'interval' })
  })

  it('retries a network failure after 30 s, then 1 min, and says so', () => {
    const s = state()
    s.nextStep(T0)
    expect(s.checkFinished({ kind: 'network-error', message: 'connection refused' }, T0)).toEqual({
      restartInto: null,
      notes: [{ level: 'warn', message: 'Update check failed: connection refused; retrying in 30s' }],
    })
    expect(s.plan(T0)).toEqual({ kind: 'due', at: T0 + 30_000, why: 'backoff' })
    expect(s.nextStep(T0 + 30_000)).toEqual({ kind: 'check' })
    expect(s.checkFinished({ kind: 'network-error', message: 'connection refused' }, T0 + 30_000).notes).toEqual([
      { level: 'warn', message: 'Update check failed: connection refused; retrying in 1m' },
    ])
    expect(s.plan(T0 + 30_000)).toEqual({ kind: 'due', at: T0 + 90_000, why: 'backoff' })
  })

  it('logs a refusal and a failed install as errors and tries again at the normal time', () => {
    const s = state()
    s.nextStep(T0)
    expect(s.checkFinished({ kind: 'failed', message: 'bad signature', exitCode: ExitCode.refused }, T0).notes).toEqual([{ level: 'error', message: 'Update refused: bad signature' }])
    expect(s.plan(T0)).toEqual({ kind: 'due', at: T0 + HOUR, why: 'interval' })
    expect(s.checkFinished({ kind: 'failed', message: 'disk full', exitCode: ExitCode.failure }, T0).notes).toEqual([{ level: 'error', message: 'Update failed: disk full' }])
  })

  it('asks for a restart into the version an install put in place', () => {
    const s = state()
    s.nextStep(T0)
    expect(s.checkFinished({ kind: 'installed', version: '1.3.0', latest: '1.3.0' }, T0)).toEqual({ restartInto: '1.3.0', notes: [] })
  })

  it('sleeps 30 s at a time while checks are off', () => {
    const s = state({ loaded: loaded({ updates: { enabled: false } }) })
    expect(s.nextStep(T0)).toEqual({ kind: 'sleep', ms: 30_000, note: null })
  })
})

describe('ServiceState: the /health answer', () => {
  it('reports uptime, the channel and what the last check found', () => {
    const s = state()
    expect(s.health(T0 + 61_500)).toEqual({
      status: 'ok',
      version: '1.2.3',
      uptime_seconds: 61,
      channel: 'stable',
      last_check: null,
      update_available: false,
      latest_version: null,
      pid: 4242,
    })
    s.checkFinished({ kind: 'checked', latest: '1.3.0', updateAvailable: true }, T0 + 1_250)
    expect(s.health(T0 + 2_000)).toMatchObject({ last_check: '2026-11-20T10:00:01Z', update_available: true, latest_version: '1.3.0' })
  })

  it('takes the later of its own last check and the one in the config file (another cco run)', () => {
    const s = state()
    s.checkFinished({ kind: 'checked', latest: null, updateAvailable: false }, T0)
    s.configLoaded(loaded({ updates: { check_interval: 'hourly', last_check: new Date(T0 + 60_000) } }), null)
    expect(s.lastCheck()).toBe(T0 + 60_000)
    expect(s.health(T0 + 61_000).last_check).toBe('2026-11-20T10:01:00Z')
  })
})

describe('ServiceState: re-reading the config', () => {
  it('says nothing on a tick that finds the same settings, and says so on SIGHUP', () => {
    const s = state()
    expect(s.configLoaded(loaded({ updates: { check_interval: 'hourly' } }), null)).toEqual([])
    expect(s.configLoaded(loaded({ updates: { check_interval: 'hourly' } }), 'SIGHUP')).toEqual([
      { level: 'info', message: 'Configuration re-read (SIGHUP): no change to the schedule' },
    ])
  })

  it('logs a changed schedule and acts on it', () => {
    const s = state()
    expect(s.configLoaded(loaded({ updates: { check_interval: 'never' } }), null)).toEqual([
      { level: 'info', message: 'Configuration changed: Scheduled update checks are off (updates.check_interval = never)' },
    ])
    expect(s.plan(T0)).toEqual({ kind: 'off', why: 'updates.check_interval is never' })
  })

  it('warns once that a new daemon.port takes a restart, unless --port chose the port', () => {
    const s = state()
    const moved = loaded({ updates: { check_interval: 'hourly' }, daemon: { port: 4000 } })
    expect(s.configLoaded(moved, null)).toEqual([
      { level: 'warn', message: 'daemon.host/daemon.port changed to 127.0.0.1:4000; this daemon keeps 127.0.0.1:3000 until it is restarted (`cco daemon restart`)' },
    ])
    expect(s.configLoaded(moved, null)).toEqual([])
    expect(state({ portOverride: true }).configLoaded(moved, null)).toEqual([])
  })

  it('keeps the previous settings when the file does not load, and logs the same problem once', () => {
    const s = state()
    expect(s.configRefused('invalid config file: updates.channel must be one of stable, beta')).toEqual([
      { level: 'error', message: 'Keeping the previous settings: invalid config file: updates.channel must be one of stable, beta' },
    ])
    expect(s.configRefused('invalid config file: updates.channel must be one of stable, beta')).toEqual([])
    expect(s.config.updates.check_interval).toBe('hourly')
    // Once a good file was read, the same problem is news again.
    s.configLoaded(loaded({ updates: { check_interval: 'hourly' } }), null)
    expect(s.configRefused('invalid config file: updates.channel must be one of stable, beta')).toHaveLength(1)
  })
})

describe('ServiceSignals', () => {
  it('stops on the first TERM or INT, and a later one does not change the reason', async () => {
    const signals = new ServiceSignals('linux')
    signals.receive('SIGINT')
    signals.receive('SIGTERM')
    expect(signals.stopSignal).toBe('SIGINT')
    await expect(signals.stopped).resolves.toBeUndefined()
  })

  it('asks for a re-read on HUP and a restart on USR2, each taken once', () => {
    const signals = new ServiceSignals('linux')
    signals.receive('SIGHUP')
    signals.receive('SIGUSR2')
    expect([signals.takeReload(), signals.takeReload()]).toEqual([true, false])
    expect([signals.takeRestart(), signals.takeRestart()]).toEqual([true, false])
    expect(signals.stopSignal).toBeNull()
  })

  it('wakes the loop from its sleep when a signal arrives', async () => {
    const signals = new ServiceSignals('linux')
    const started = Date.now()
    const sleeping = signals.sleep(60_000)
    signals.receive('SIGHUP')
    await sleeping
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('listens to TERM, INT, HUP and USR2, and only TERM and INT on Windows', () => {
    const count = () => ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'].map((s) => process.listenerCount(s))
    const before = count()
    for (const [platform, added] of [
      ['linux', [1, 1, 1, 1]],
      ['win32', [1, 1, 0, 0]],
    ] as const) {
      const signals = new ServiceSignals(platform)
      signals.listen()
      expect(count().map((n, i) => n - before[i]!)).toEqual(added)
      signals.close()
      expect(count()).toEqual(before)
    }
  })
})
