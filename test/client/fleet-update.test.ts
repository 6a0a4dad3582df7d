// Fleet reports from real cco processes: bundles installed in temporary HOMEs update from signed
// manifests served locally, with `fleet.report = true` and a stand-in for POST /v1/reports that
// records every body. What `cco update`, `cco rollback` and the daemon report; and that a broker
// that refuses (429), fails (500) or never answers changes neither the update nor its exit code,
// and delays it by the send timeout (5 s) at most.
import { appendFileSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FleetReportSchema } from '../../contract/fleet.ts'
import { queueFile, readQueue } from '../../client/src/fleet/queue.ts'
import { SEND_TIMEOUT_MS } from '../../client/src/fleet/send.ts'
import { show, type CcoRun } from '../../support/cco-process.ts'
import type { CcoHome } from '../../support/cco-home.ts'
import { unhealthyBundle } from '../support/daemon-bundles.ts'
import { daemonHost, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { mountReports, type ReportsStandIn } from '../support/fleet-stand-in.ts'
import { startUpdateFixture, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const TOKEN = 'cco_fleet_e2e_7a41c9'
const FLEET = '[fleet]\nreport = true\nname = "web-1"\n[fleet.labels]\nenv = "prod"\n'

let fx: UpdateFixture
let reports: ReportsStandIn
const daemons: DaemonHost[] = []
beforeAll(async () => {
  fx = await startUpdateFixture()
  reports = mountReports(fx.server)
}, 60_000)
afterAll(async () => {
  reports?.release()
  await Promise.all(daemons.map((d) => d.teardown()))
  await fx?.close()
}, 60_000)
beforeEach(() => {
  reports.reports.length = 0
  reports.script([])
})

const host = () => fx.host({ extra: FLEET })
const cco = (h: CcoHome, args: string[]) => fx.run(h, args, { env: { CCO_FLEET_TOKEN: TOKEN } })
const pending = (h: CcoHome) => {
  const read = readQueue(queueFile(h.stateDir))
  return read.kind === 'ok' ? read.state.events : []
}
const hostId = (h: CcoHome) => readFileSync(`${h.stateDir}/host-id`, 'utf8').trim()
const events = () => reports.reports.flatMap((r) => r.body.events)
/** What the run printed, without the fleet warnings and with its home directory as `~`. */
const printed = (r: CcoRun, h: CcoHome) => ({
  code: r.code,
  stdout: r.stdout.replaceAll(h.home, '~'),
  stderr: r.stderr.replace(/^warning: fleet report: .*\n/gm, '').replaceAll(h.home, '~'),
})

describe('cco update with fleet reports on', () => {
  it('reports the install it made: host, state after it, event, and the token as a bearer header', async () => {
    const { archive } = await fx.publish({ version: VERSION_B })
    const h = host()
    const r = await cco(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stderr).not.toContain('fleet report')
    expect(reports.reports).toHaveLength(1)
    const [sent] = reports.reports
    expect(sent!.authorization).toBe(`Bearer ${TOKEN}`)
    expect(FleetReportSchema.safeParse(sent!.body).success).toBe(true)
    expect(sent!.body).toMatchObject({ schema: 2, product: 'cco', host_id: hostId(h), name: 'web-1', labels: { env: 'prod' }, channel: 'stable', version: VERSION_B, check_interval_s: 86400 })
    // No block map was published: the whole archive came down.
    const download = { bytes: archive.length, differential: false, archive_bytes: archive.length }
    expect(sent!.body.events).toEqual([{ id: expect.any(String), at: expect.any(String), kind: 'install', outcome: 'installed', from: VERSION_A, to: VERSION_B, download }])
    expect(pending(h)).toEqual([])
    // Nothing that names the machine or a path.
    expect(sent!.text).not.toContain(h.home)
  })

  it('reports a check that installs nothing: up to date, then a release found but not installed (--check) as available', async () => {
    await fx.publish({ version: VERSION_A })
    const h = host()
    expect((await cco(h, ['update', '--check'])).code).toBe(0)
    expect(events()).toEqual([expect.objectContaining({ kind: 'check', outcome: 'up-to-date' })])
    await fx.publish({ version: VERSION_B })
    expect((await cco(h, ['update', '--check'])).code).toBe(0)
    expect(reports.reports).toHaveLength(2)
    expect(events().at(-1)).toEqual(expect.objectContaining({ kind: 'check', outcome: 'available', to: VERSION_B }))
    expect(pending(h)).toEqual([])
  })

  it('reports a checksum mismatch as a failed install with its class and exit code, and exits 4 as always', async () => {
    const { archive } = await fx.publish({ version: VERSION_B })
    const bad = Buffer.from(archive)
    bad.writeUInt8(bad.readUInt8(100) ^ 1, 100)
    await fx.publish({ version: VERSION_B, serveInstead: bad })
    const h = host()
    const r = await cco(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(4)
    expect(r.stderr).toMatch(/^Checksum verification failed/m)
    expect(reports.reports[0]!.body.version).toBe(VERSION_A)
    expect(events()).toEqual([{ id: expect.any(String), at: expect.any(String), kind: 'install', outcome: 'failed', from: VERSION_A, to: VERSION_B, error_class: 'checksum', exit_code: 4 }])
  })

  it('reports a broker it cannot reach as a failed check (network, exit 3)', async () => {
    const h = fx.host({ extra: `${FLEET}` })
    // The manifest route answers 500: the check fails; the report still goes to the same server.
    fx.server.route('/v1/channels/beta/manifest', (_req, res) => {
      res.writeHead(500)
      res.end()
    })
    const r = await cco(h, ['update', '--check', '--channel', 'beta'])
    expect(r.code, show(r)).toBe(3)
    expect(reports.reports[0]!.body.channel).toBe('beta')
    expect(events()).toEqual([expect.objectContaining({ kind: 'check', outcome: 'failed', error_class: 'network', exit_code: 3 })])
  })

  it('reports cco rollback, leaving B for A', async () => {
    await fx.publish({ version: VERSION_B })
    const h = host()
    expect((await cco(h, ['update', '--yes'])).code).toBe(0)
    const r = await cco(h, ['rollback'])
    expect(r.code, show(r)).toBe(0)
    expect(reports.reports.at(-1)!.body.version).toBe(VERSION_A)
    expect(events().at(-1)).toEqual({ id: expect.any(String), at: expect.any(String), kind: 'rollback', outcome: 'rolled-back', from: VERSION_B, to: VERSION_A })
  })
})

describe('a broker that does not take the report', () => {
  /** Runs the same update against an accepting stand-in and against `answer`: same result, bounded delay. */
  async function sameUpdate(answer: Parameters<ReportsStandIn['script']>[0][number]): Promise<{ h: CcoHome; r: CcoRun; ms: number }> {
    await fx.publish({ version: VERSION_B })
    const first = host()
    const baseline = await cco(first, ['update', '--yes'])
    expect(baseline.code, show(baseline)).toBe(0)
    reports.reports.length = 0
    reports.script([answer])
    const h = host()
    const started = Date.now()
    const r = await cco(h, ['update', '--yes'])
    const ms = Date.now() - started
    // The same exit code and output; stderr differs only by the fleet warning.
    expect(printed(r, h), show(r)).toEqual(printed(baseline, first))
    expect((await fx.run(h, ['--version'])).stdout).toBe(`cco ${VERSION_B}\n`)
    return { h, r, ms }
  }

  it('500: the update succeeds the same way, the event stays queued, and the next run sends it with the same id', async () => {
    const { h, r } = await sameUpdate({ status: 500 })
    expect(r.stderr).toMatch(/^warning: fleet report: not sent \(HTTP 500 test: scripted 500 from http:\/\/127\.0\.0\.1:\d+\/v1\/reports\); 1 event\(s\) stay queued/m)
    const queued = pending(h)
    expect(queued).toHaveLength(1)
    const id = queued[0]!.event.id
    expect(reports.eventIds()).toEqual([id])
    // A later process (here `cco fleet report`) sends what is queued: the same id again.
    const again = await cco(h, ['fleet', 'report'])
    expect(again.code, show(again)).toBe(0)
    expect(reports.eventIds()).toEqual([id, id])
    expect(pending(h)).toEqual([])
  })

  it('429 Retry-After: the update succeeds, and the next run does not send before the hold is over', async () => {
    const { h } = await sameUpdate({ status: 429, headers: { 'retry-after': '3600' } })
    expect(reports.reports).toHaveLength(1)
    const r = await cco(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(reports.reports).toHaveLength(1)
    expect(pending(h)).toHaveLength(2)
  })

  it('no answer at all: the update succeeds with exit 0 once the send times out', async () => {
    const { h, ms } = await sameUpdate('hang')
    expect(reports.reports).toHaveLength(1)
    expect(pending(h)).toHaveLength(1)
    // The update itself takes a second or two here; the report adds at most its timeout.
    expect(ms).toBeLessThan(SEND_TIMEOUT_MS + 10_000)
    reports.release()
  }, 40_000)
})

describe('the daemon', () => {
  it('sends what its checks found, holds while the broker says so (429 Retry-After), then sends the same events again', { timeout: 60_000 }, async () => {
    await fx.publish({ version: VERSION_A })
    const d = await daemonHost({ installed: fx.bundles[VERSION_A]!, config: { server: fx.server.url, keys: [fx.signer.publicKey], interval: '2s' }, env: { CCO_FLEET_TOKEN: TOKEN } })
    daemons.push(d)
    appendFileSync(d.configFile, FLEET)
    reports.script([{ status: 429, headers: { 'retry-after': '3' } }])
    expect((await d.cco(['daemon', 'start'])).code).toBe(0)
    const first = await waitFor('a first report', () => reports.reports[0], 20_000)
    const held = first.body.events.map((e) => e.id)
    const second = await waitFor('a report after the hold', () => reports.reports[1], 20_000)
    expect(second.at - first.at).toBeGreaterThanOrEqual(2_900)
    expect(second.body.events.map((e) => e.id).slice(0, held.length)).toEqual(held)
    expect(second.body.events.every((e) => e.kind === 'check' && e.outcome === 'up-to-date')).toBe(true)
    expect(second.body).toMatchObject({ host_id: readFileSync(`${d.stateDir}/host-id`, 'utf8').trim(), version: VERSION_A, check_interval_s: 60 })
  })

  it('reports its own install and the health verdict on the new version after restarting into it', { timeout: 90_000 }, async () => {
    const { archive } = await fx.publish({ version: VERSION_B })
    const d = await daemonHost({
      installed: fx.bundles[VERSION_A]!,
      config: { server: fx.server.url, keys: [fx.signer.publicKey], interval: '1h', autoInstall: true },
      env: { CCO_FLEET_TOKEN: TOKEN },
    })
    daemons.push(d)
    appendFileSync(d.configFile, FLEET)
    expect((await d.cco(['daemon', 'start'])).code).toBe(0)
    await d.waitForHealth({ version: VERSION_B, timeoutMs: 60_000 })
    const health = await waitFor('the health verdict', () => events().find((e) => e.kind === 'health'), 30_000)
    expect(health).toMatchObject({ kind: 'health', outcome: 'healthy', from: VERSION_A, to: VERSION_B })
    const download = { bytes: archive.length, differential: false, archive_bytes: archive.length }
    expect(events().find((e) => e.kind === 'install')).toMatchObject({ kind: 'install', outcome: 'installed', from: VERSION_A, to: VERSION_B, download })
    const ids = events().map((e) => e.id)
    // Sent by the old daemon on its way out or by the new one on its first tick: the broker keeps one of each.
    expect(new Set(ids).size).toBeGreaterThanOrEqual(2)
  })

  it('reports a new version that never became healthy, and the rollback to the previous one', { timeout: 90_000 }, async () => {
    await fx.publish({ version: VERSION_B, binary: readFileSync(await unhealthyBundle({ version: VERSION_B })) })
    const d = await daemonHost({
      installed: fx.bundles[VERSION_A]!,
      config: { server: fx.server.url, keys: [fx.signer.publicKey], interval: '1h', autoInstall: true },
      env: { CCO_FLEET_TOKEN: TOKEN, CCO_DAEMON_HANDOVER_TIMEOUT_MS: '3000' },
    })
    daemons.push(d)
    appendFileSync(d.configFile, FLEET)
    expect((await d.cco(['daemon', 'start'])).code).toBe(0)
    await waitFor('the rollback event', () => events().find((e) => e.kind === 'rollback'), 60_000)
    // Checks (each daemon's, and the restored one's that skips the rolled-back B: `available`) aside.
    const kinds = events()
      .filter((e) => e.kind !== 'check')
      .map(({ kind, outcome, from, to, error_class }) => ({ kind, outcome, from, to, error_class }))
    expect(events().filter((e) => e.kind === 'check').every((e) => e.outcome === 'available' && e.to === VERSION_B)).toBe(true)
    expect(kinds).toEqual([
      { kind: 'install', outcome: 'installed', from: VERSION_A, to: VERSION_B, error_class: undefined },
      { kind: 'health', outcome: 'unhealthy', from: VERSION_A, to: VERSION_B, error_class: 'health' },
      { kind: 'rollback', outcome: 'rolled-back', from: VERSION_B, to: VERSION_A, error_class: undefined },
    ])
    expect(reports.reports.at(-1)!.body.version).toBe(VERSION_A)
  })
})
