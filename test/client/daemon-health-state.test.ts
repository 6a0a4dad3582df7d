// When `/health` says "degraded" (daemon/service-state.ts), as plain data: the threshold of failed
// checks in a row, which outcomes count, what the answer carries, and what makes it "ok" again.
import { describe, expect, it } from 'vitest'
import { ConfigSchema } from '../../client/src/config/schema.ts'
import type { CheckOutcome } from '../../client/src/daemon/checks.ts'
import { ExitCode } from '../../client/src/errors.ts'
import { DEGRADED_AFTER_FAILED_CHECKS, ServiceState } from '../../client/src/daemon/service-state.ts'

const T0 = Date.parse('2026-11-20T10:00:00Z')
const MIN = 60_000

function state(): ServiceState {
  const config = { updates: { check_interval: 'hourly' } }
  return new ServiceState({
    loaded: { path: '/home/me/.config/cco/config.toml', text: null, raw: config, config: ConfigSchema.parse(config) },
    host: '127.0.0.1',
    port: 3000,
    portOverride: false,
    version: '1.2.3',
    pid: 4242,
    startedAt: T0,
    random: () => 0,
  })
}

const down = (message = 'cannot reach https://releases.example.com: ECONNREFUSED') => ({ kind: 'network-error' as const, message })

describe('/health degraded after failed update checks', () => {
  it('stays ok below the threshold and says degraded, with the count, since when and the last error, once it is reached', () => {
    expect(DEGRADED_AFTER_FAILED_CHECKS).toBe(3)
    const s = state()
    s.checkFinished(down('first'), T0)
    s.checkFinished(down('second'), T0 + MIN)
    expect(s.health(T0 + MIN).status).toBe('ok')
    expect(s.health(T0 + MIN)).not.toHaveProperty('last_error')
    const third = s.checkFinished(down('third'), T0 + 3 * MIN)
    expect(third.notes).toContainEqual({ level: 'error', message: 'Health is now degraded: 3 update checks in a row failed since 2026-11-20T10:00:00Z' })
    const h = s.health(T0 + 3 * MIN)
    expect(h).toMatchObject({ status: 'degraded', version: '1.2.3', pid: 4242, failed_checks: 3, failing_since: '2026-11-20T10:00:00Z', last_error: 'third' })
    // The extra fields come last, after everything an "ok" answer has.
    expect(Object.keys(h).slice(-3)).toEqual(['failed_checks', 'failing_since', 'last_error'])
    // Said once, counted on.
    expect(s.checkFinished(down('fourth'), T0 + 7 * MIN).notes.filter((n) => n.level === 'error')).toEqual([])
    expect(s.health(T0 + 7 * MIN)).toMatchObject({ failed_checks: 4, failing_since: '2026-11-20T10:00:00Z', last_error: 'fourth' })
  })

  it('counts refused manifests and failed installs as failed checks, not only the network', () => {
    const s = state()
    s.checkFinished(down(), T0)
    s.checkFinished({ kind: 'failed', message: 'Manifest refused (signature): no pinned key', exitCode: ExitCode.refused }, T0 + MIN)
    s.checkFinished({ kind: 'failed', message: 'Failed to install new binary', exitCode: ExitCode.failure }, T0 + 2 * MIN)
    expect(s.health(T0 + 2 * MIN)).toMatchObject({ status: 'degraded', failed_checks: 3, last_error: 'Failed to install new binary' })
  })

  it('is ok again after any check that completes, and a new run of failures starts counting from zero', () => {
    const outcomes: CheckOutcome[] = [
      { kind: 'checked', latest: '1.2.3', updateAvailable: false },
      { kind: 'waiting', version: '1.2.4', latest: '1.2.4', bucket: 7, installAt: T0 + 60 * MIN },
      { kind: 'installed', version: '1.2.4', latest: '1.2.4' },
    ]
    for (const completed of outcomes) {
      const s = state()
      for (let i = 0; i < 3; i++) s.checkFinished(down(), T0 + i * MIN)
      expect(s.health(T0 + 3 * MIN).status).toBe('degraded')
      const done = s.checkFinished(completed, T0 + 4 * MIN)
      expect(done.notes).toContainEqual({ level: 'info', message: 'Health is ok again: an update check completed after 3 failed ones' })
      const h = s.health(T0 + 4 * MIN)
      expect(h.status).toBe('ok')
      expect(h).not.toHaveProperty('failed_checks')
      s.checkFinished(down(), T0 + 5 * MIN)
      s.checkFinished(down(), T0 + 6 * MIN)
      expect(s.health(T0 + 6 * MIN).status).toBe('ok')
    }
  })

  it('does not announce a recovery that was never a degradation', () => {
    const s = state()
    s.checkFinished(down(), T0)
    expect(s.checkFinished({ kind: 'checked', latest: '1.2.3', updateAvailable: false }, T0 + MIN).notes).toEqual([])
  })
})
