// What a fleet report says, as pure functions with plain data: the body (exactly the contract's
// fields; no host name, user name, home directory or path, whatever the host's events were),
// its batches, the events built from decisions and outcomes, the error classes, and the backoff.
import { homedir, hostname, userInfo } from 'node:os'
import { describe, expect, it } from 'vitest'
import { FLEET_REPORT_MAX_BYTES, FLEET_REPORT_MAX_EVENTS, FleetReportSchema } from '../../contract/fleet.ts'
import type { ManifestPayload } from '../../contract/manifest.ts'
import { ConfigSchema } from '../../client/src/config/schema.ts'
import { CliError, ExitCode, NetworkError, RefusedError, RollbackFailedError, RolledBackError, UsageError } from '../../client/src/errors.ts'
import { failureClassOf } from '../../client/src/fleet/error-class.ts'
import { checkEvent, checkFailedEvent, healthEvent, installEvent, rollbackEvent } from '../../client/src/fleet/events.ts'
import { newEvent, type QueuedEvent } from '../../client/src/fleet/queue.ts'
import { buildReports } from '../../client/src/fleet/report-body.ts'
import { reportedIntervalS } from '../../client/src/fleet/reporter.ts'
import { afterFailure, afterSuccess, retryAfterMs, retryDelayMs } from '../../client/src/fleet/retry.ts'
import { decideUpdate } from '../../client/src/update/decide.ts'
import { UnsafeStateFileError } from '../../client/src/system/state-file.ts'

const HOST_ID = '3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b'
const identity = { product: 'cco', host_id: HOST_ID }
const at = new Date('2026-11-20T10:00:00.000Z')
const host = (version = '2026.11.2') => ({ version, channel: 'stable', platform: 'linux-x86_64', check_interval_s: 86400 }) as const
const queued = (facts: Parameters<typeof newEvent>[0], version = '2026.11.2'): QueuedEvent => ({ event: newEvent(facts, at), host: host(version) })

/** Everything an installed cco could know about the machine and its user. */
function machineWords(): string[] {
  const words = [hostname(), userInfo().username, homedir(), process.env.HOME ?? '', process.cwd(), process.execPath]
  return words.filter((w) => w.length >= 3)
}

describe('the report body', () => {
  it('has exactly the contract fields, and nothing that names the machine, its user or a path', () => {
    // Every kind of event, including failures whose messages held paths and host names.
    const failure = new CliError(`Failed to install new binary: cannot write ${homedir()}/.local/bin/cco on ${hostname()}`, ExitCode.failure, { kind: 'disk' })
    const events = [
      queued(checkEvent({ kind: 'none', why: 'up-to-date', detail: `${homedir()} is up to date` })!),
      queued(checkFailedEvent(new NetworkError(`cannot reach http://${hostname()}:8787 as ${userInfo().username}`))),
      queued(installEvent('2026.11.2', '2026.11.3', failure)!),
      queued(installEvent('2026.11.2', '2026.11.3')!, '2026.11.3'),
      queued(rollbackEvent('2026.11.3', '2026.11.2')!),
      queued(healthEvent('2026.11.2', '2026.11.3', false)),
    ]
    const { batches, unsendable } = buildReports({ ...identity, name: 'prod-1', labels: { env: 'prod' } }, events)
    expect(unsendable).toEqual([])
    expect(batches).toHaveLength(1)
    const body = batches[0]!.body
    expect(FleetReportSchema.safeParse(body).success).toBe(true)
    expect(Object.keys(body).sort()).toEqual(['channel', 'check_interval_s', 'events', 'host_id', 'labels', 'name', 'platform', 'product', 'schema', 'version'])
    for (const e of body.events) {
      expect(Object.keys(e).every((k) => ['id', 'at', 'kind', 'outcome', 'from', 'to', 'error_class', 'exit_code'].includes(k))).toBe(true)
    }
    const text = batches[0]!.text
    expect(text).toBe(JSON.stringify(body))
    for (const word of machineWords()) expect(text).not.toContain(word)
    expect(text).not.toMatch(/\/(home|root|Users|tmp)\//)
  })

  it('leaves name and labels out when none are configured', () => {
    const { batches } = buildReports(identity, [queued({ kind: 'check', outcome: 'up-to-date' })])
    expect(Object.keys(batches[0]!.body).sort()).toEqual(['channel', 'check_interval_s', 'events', 'host_id', 'platform', 'product', 'schema', 'version'])
  })

  it("states the host as the newest event of the body left it (an install's new version)", () => {
    const { batches } = buildReports(identity, [queued({ kind: 'check', outcome: 'up-to-date' }), queued(installEvent('2026.11.2', '2026.11.3')!, '2026.11.3')])
    expect(batches[0]!.body.version).toBe('2026.11.3')
  })

  it('splits the queue into bodies of at most 50 events and 16 KiB, oldest first, each of them valid', () => {
    const many = Array.from({ length: 200 }, () => queued(installEvent('2026.11.2', '2026.11.3', new NetworkError('x'))!))
    const labels = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`key-${i}`, 'v'.repeat(64)]))
    const { batches } = buildReports({ ...identity, labels }, many)
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(200 / FLEET_REPORT_MAX_EVENTS))
    expect(batches.flatMap((b) => b.ids)).toEqual(many.map((e) => e.event.id))
    for (const b of batches) {
      expect(b.body.events.length).toBeLessThanOrEqual(FLEET_REPORT_MAX_EVENTS)
      expect(Buffer.byteLength(b.text)).toBeLessThanOrEqual(FLEET_REPORT_MAX_BYTES)
      expect(FleetReportSchema.safeParse(b.body).success).toBe(true)
    }
  })

  it('sets aside an event that no broker would accept instead of sending it', () => {
    const bad: QueuedEvent = { event: { ...newEvent({ kind: 'check', outcome: 'up-to-date' }, at) }, host: { ...host(), version: 'has spaces' } }
    const good = queued({ kind: 'check', outcome: 'up-to-date' })
    const { batches, unsendable } = buildReports(identity, [bad, good])
    expect(unsendable).toEqual([{ id: bad.event.id, reason: expect.stringMatching(/^version: must be the running version/) }])
    expect(batches.map((b) => b.ids)).toEqual([[good.event.id]])
  })
})

describe('events', () => {
  const manifest = (o: Partial<ManifestPayload['rollout']> = {}): ManifestPayload => ({
    schema: 1,
    product: 'cco',
    channel: 'stable',
    seq: 3,
    issued_at: '2026-11-20T10:00:00Z',
    expires_at: '2026-11-27T10:00:00Z',
    release: {
      version: '2026.11.3',
      tag: 'v2026.11.3',
      published_at: '2026-11-20T09:00:00Z',
      notes: '',
      notes_url: null,
      assets: { 'linux-x86_64': { name: 'cco-2026.11.3-linux-x86_64.tar.gz', url: 'https://example.com/a.tar.gz', size: 10, sha256: 'a'.repeat(64) } },
    },
    rollout: { percent: 100, halted: false, ...o },
    yanked: [],
  })

  it('maps every decision that installs nothing to its outcome', () => {
    expect(checkEvent(decideUpdate(manifest(), '2026.11.3', HOST_ID, 'linux-x86_64'))).toEqual({ kind: 'check', outcome: 'up-to-date' })
    expect(checkEvent(decideUpdate(manifest({ halted: true }), '2026.11.2', HOST_ID, 'linux-x86_64'))).toEqual({ kind: 'check', outcome: 'halted' })
    expect(checkEvent(decideUpdate(manifest({ percent: 0 }), '2026.11.2', HOST_ID, 'linux-x86_64'))).toEqual({ kind: 'check', outcome: 'not-in-rollout' })
    expect(checkEvent(decideUpdate(manifest(), '2026.11.2', HOST_ID, 'darwin-arm64'), { exitCode: 1 })).toEqual({ kind: 'check', outcome: 'no-asset', to: '2026.11.3', exit_code: 1 })
    expect(checkEvent({ kind: 'none', why: 'no-release', detail: '' })).toEqual({ kind: 'check', outcome: 'up-to-date' })
  })

  it('reports a release that was found and not installed as available, with its version', () => {
    expect(checkEvent(decideUpdate(manifest(), '2026.11.2', HOST_ID, 'linux-x86_64'))).toEqual({ kind: 'check', outcome: 'available', to: '2026.11.3' })
  })

  it('names installs, rollbacks and health verdicts with their versions, leaving out what is not a version', () => {
    expect(installEvent('2026.11.2', '2026.11.3')).toEqual({ kind: 'install', outcome: 'installed', from: '2026.11.2', to: '2026.11.3' })
    expect(installEvent('my build', '2026.11.3', new RefusedError('digest', 'Checksum verification failed'))).toEqual({
      kind: 'install',
      outcome: 'failed',
      to: '2026.11.3',
      error_class: 'checksum',
      exit_code: 4,
    })
    expect(rollbackEvent('2026.11.3', '2026.11.2')).toEqual({ kind: 'rollback', outcome: 'rolled-back', from: '2026.11.3', to: '2026.11.2' })
    expect(rollbackEvent(null, '2026.11.2')).toBeNull()
    expect(healthEvent('2026.11.2', '2026.11.3', false)).toEqual({ kind: 'health', outcome: 'unhealthy', from: '2026.11.2', to: '2026.11.3', error_class: 'health' })
  })
})

describe('error classes', () => {
  const cases: [string, unknown, string, number][] = [
    ['network', new NetworkError('cannot reach'), 'network', 3],
    ['checksum', new RefusedError('digest', 'Checksum verification failed'), 'checksum', 4],
    ['signature', new RefusedError('untrusted-key', 'x'), 'signature', 4],
    ['a replayed manifest', new RefusedError('seq', 'x'), 'replay', 4],
    ['an expired manifest', new RefusedError('expired', 'x'), 'expired', 4],
    ['a malformed manifest', new RefusedError('payload', 'x'), 'manifest', 4],
    ['an archive', new RefusedError('archive', 'x'), 'archive', 4],
    ['a held lock', new CliError('another update is in progress', ExitCode.failure, { kind: 'lock' }), 'lock', 1],
    ['the self-test before the swap', new CliError('New binary verification failed', ExitCode.failure, { kind: 'self-test' }), 'self-test', 1],
    ['the self-test after the swap', new RolledBackError(), 'self-test', 5],
    ['a failed rollback', new RollbackFailedError('x', 'cp a b'), 'rollback-failed', 6],
    ['a full disk behind a plain error', Object.assign(new Error('write failed'), { cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }) }), 'disk', 1],
    ['a planted link', new UnsafeStateFileError('/x', 'it is a symbolic link'), 'state-file', 1],
    ['a bad config', new UsageError('x'), 'config', 2],
    ['any other failure', new CliError('x'), 'failure', 1],
    ['a bug', new TypeError('x is undefined'), 'internal', 1],
  ]
  it.each(cases)('names %s', (_what, err, errorClass, exitCode) => {
    expect(failureClassOf(err)).toEqual({ error_class: errorClass, exit_code: exitCode })
  })
})

describe('retry timing', () => {
  it('backs off 30 s, 1 min, 2 min … up to an hour', () => {
    expect([1, 2, 3, 4, 8, 30].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000])
  })

  it('reads Retry-After as seconds or as a date, and holds exactly that long', () => {
    const now = Date.parse('2026-11-20T10:00:00Z')
    expect(retryAfterMs('120', now)).toBe(120_000)
    expect(retryAfterMs('Fri, 20 Nov 2026 10:05:00 GMT', now)).toBe(300_000)
    expect(retryAfterMs('soon', now)).toBeNull()
    expect(afterFailure(afterSuccess(), now, 5_000)).toEqual({ failures: 1, retry_at: '2026-11-20T10:00:05.000Z', hold_until: '2026-11-20T10:00:05.000Z' })
    expect(afterFailure({ failures: 2, retry_at: null, hold_until: null }, now, null)).toEqual({ failures: 3, retry_at: '2026-11-20T10:02:00.000Z', hold_until: null })
  })

  it('reports the check interval in seconds within the contract bounds, and the longest when nothing is scheduled', () => {
    const interval = (updates: Record<string, unknown>) => reportedIntervalS(ConfigSchema.parse({ updates }))
    expect(interval({})).toBe(86_400)
    expect(interval({ check_interval: '2s' })).toBe(60)
    expect(interval({ check_interval: 'never' })).toBe(365 * 86_400)
    expect(interval({ enabled: false })).toBe(365 * 86_400)
  })
})
