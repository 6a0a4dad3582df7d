// Fleet reports end to end with real processes: the real broker (`wrangler dev`) taking reports
// with a fleet token, releases announced by signed webhooks, and three hosts in temporary HOMEs
// running the real client with `fleet.report = true`: web-1 updates A → B and rolls back, web-2
// already runs B and checks, db-1's install of C fails its checksum. Then a release engineer's
// `cco release fleet`, `… hosts` and `… events` (admin token) show exactly what they did.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { announceRelease } from '../../support/announce-release.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const A = '2026.7.1'
const B = '2026.7.2'
const C = '2026.7.3'
const FLEET_TOKEN = 'cco_fleet_e2e_3b9f0d6a1c'

let broker: DevBroker
let downloads: ReleaseServer
const bundles: Record<string, string> = {}
const homes: CcoHome[] = []
let admin: CcoHome

beforeAll(async () => {
  ;[bundles[A], bundles[B], bundles[C], broker, downloads] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    clientBundle({ version: C }),
    // The broker takes reports with this token (its hash in FLEET_TOKEN_HASHES).
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1', STABLE_FROM_RELEASES: 'true' }, fleetReports: FLEET_TOKEN }),
    startReleaseServer(),
  ])
  admin = makeHome('cco-e2e-fleet-admin-')
  admin.writeConfig({ server: broker.url })
  admin.install(bundles[A]!)
  homes.push(admin)
}, 120_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  for (const h of homes) h.cleanup()
})

function host(name: string, version: string, env: string): CcoHome {
  const h = makeHome(`cco-e2e-fleet-${name}-`)
  homes.push(h)
  h.writeConfig({ server: broker.url, keys: [broker.secrets.publicKey], extra: `[fleet]\nreport = true\nname = "${name}"\n[fleet.labels]\nenv = "${env}"\n` })
  h.install(bundles[version]!)
  return h
}

const cco = (h: CcoHome, args: string[]) => runCco(h.installPath, args, { home: h.home, env: { CCO_FLEET_TOKEN: FLEET_TOKEN } })
const release = (args: string[]) => runCco(admin.installPath, ['release', 'fleet', ...args], { home: admin.home, env: { CCO_ADMIN_TOKEN: broker.adminToken } })
const hostId = (h: CcoHome) => readFileSync(`${h.stateDir}/host-id`, 'utf8').trim()

interface HostRow {
  host_id: string
  name: string | null
  version: string
  labels: Record<string, string>
  last_event: { kind: string; outcome: string } | null
  failed_install: { version: string } | null
  rolled_back: { from: string } | null
}
interface EventRow {
  host_id: string
  kind: string
  outcome: string
  from: string | null
  to: string | null
  error_class: string | null
  exit_code: number | null
}

it('hosts report what they did, and cco release fleet, hosts and events show it', { timeout: 180_000 }, async () => {
  const b = await announceRelease(broker, downloads, { version: B, binary: bundles[B]! })
  expect(b.hook.status, broker.output()).toBe(200)

  const web1 = host('web-1', A, 'prod')
  const web2 = host('web-2', B, 'prod')
  const db1 = host('db-1', A, 'staging')

  const up = await cco(web1, ['update', '--yes'])
  expect(up.code, show(up)).toBe(0)
  expect(up.stderr).not.toContain('fleet report')
  // web-1's install said what it downloaded (B has no block map: the whole archive), and B's rollout shows it.
  const afterB = await release(['--json'])
  expect(afterB.code, show(afterB)).toBe(0)
  const full = b.archive.length
  expect((JSON.parse(afterB.stdout) as { rollouts: { channel: string }[] }).rollouts.find((r) => r.channel === 'stable')).toMatchObject({
    version: B,
    downloads: 1,
    differential: 0,
    downloaded_bytes: full,
    full_bytes: full,
    saved_bytes: 0,
    saved_percent: 0,
  })
  expect((await release([])).stdout).toMatch(new RegExp(`^→ stable ${B.replaceAll('.', '\\.')}: downloaded (.+) of \\1 per host \\(1 host, differential 0 %, saved 0 B\\)$`, 'm'))
  const check = await cco(web2, ['update', '--check'])
  expect(check.code, show(check)).toBe(0)
  expect(check.stdout).toContain('✅ You are running the latest version')

  // C is announced with its honest digest, but the download host then serves other bytes of the same size.
  const c = await announceRelease(broker, downloads, { version: C, binary: bundles[C]! })
  expect(c.hook.status, broker.output()).toBe(200)
  const honest = releaseTarGz(readFileSync(bundles[C]!))
  const corrupt = Buffer.from(honest)
  corrupt.writeUInt8(corrupt.readUInt8(200) ^ 1, 200)
  downloads.file(c.downloadPath, corrupt)
  const failed = await cco(db1, ['update', '--yes'])
  expect(failed.code, show(failed)).toBe(4)
  expect(failed.stderr).toMatch(/^Checksum verification failed/m)
  expect(failed.stderr).not.toContain('fleet report')

  const back = await cco(web1, ['rollback'])
  expect(back.code, show(back)).toBe(0)
  expect(back.stderr).not.toContain('fleet report')

  // The summary: versions by channel, the rollout of C with one failed install.
  const summary = await release(['--json'])
  expect(summary.code, show(summary)).toBe(0)
  const view = JSON.parse(summary.stdout) as {
    hosts: number
    stale: number
    by_version: { version: string; channel: string; hosts: number }[]
    by_label: { key: string; value: string; hosts: number }[]
    rollouts: { channel: string; version: string | null; percent: number; on_channel: number; installed: number; failed: number; rolled_back: number; not_seen: number; in_bucket: number }[]
  }
  expect(view.hosts).toBe(3)
  expect(view.stale).toBe(0)
  expect(view.by_version.filter((v) => v.channel === 'stable').map((v) => [v.version, v.hosts]).sort()).toEqual([
    [A, 2],
    [B, 1],
  ])
  expect(view.by_label.map((l) => [`${l.key}=${l.value}`, l.hosts]).sort()).toEqual([
    ['env=prod', 2],
    ['env=staging', 1],
  ])
  const stable = view.rollouts.find((r) => r.channel === 'stable')!
  expect(stable).toMatchObject({ version: C, percent: 100, on_channel: 3, in_bucket: 3, installed: 0, failed: 1, rolled_back: 0, not_seen: 2 })

  const table = await release([])
  expect(table.code, show(table)).toBe(0)
  expect(table.stdout).toContain('Hosts: 3 hosts reporting, 0 stale')
  expect(table.stdout).toMatch(new RegExp(`^stable +${C.replaceAll('.', '\\.')} +100% +no +3 +3 +0 +1 +0 +2$`, 'm'))
  expect(table.stdout).toContain(`→ stable hosts run 2 versions: ${A} (2), ${B} (1); list them with cco release fleet hosts --channel stable --version ${B}`)

  // Hosts on A: web-1 (rolled back) and db-1 (its install failed).
  const onA = await release(['hosts', '--version', A, '--json'])
  expect(onA.code, show(onA)).toBe(0)
  const rows = (JSON.parse(onA.stdout) as { hosts: HostRow[] }).hosts
  expect(rows.map((r) => r.name).sort()).toEqual(['db-1', 'web-1'])
  expect(rows.find((r) => r.name === 'web-1')).toMatchObject({ host_id: hostId(web1), labels: { env: 'prod' }, last_event: { kind: 'rollback', outcome: 'rolled-back' }, rolled_back: { from: B } })
  expect(rows.find((r) => r.name === 'db-1')).toMatchObject({ host_id: hostId(db1), last_event: { kind: 'install', outcome: 'failed' }, failed_install: { version: C } })

  const failedHosts = await release(['hosts', '--outcome', 'failed'])
  expect(failedHosts.code, show(failedHosts)).toBe(0)
  expect(failedHosts.stdout).toContain(`${hostId(db1)}  db-1`)
  expect(failedHosts.stdout).toContain(`install of ${C} failed`)
  expect(failedHosts.stdout).not.toContain('web-')
  const staging = await release(['hosts', '--label', 'env=staging', '--json'])
  expect((JSON.parse(staging.stdout) as { hosts: HostRow[] }).hosts.map((h) => h.name)).toEqual(['db-1'])

  // db-1's events: the failed install with its class and exit code.
  const dbEvents = await release(['events', '--host', hostId(db1), '--json'])
  expect(dbEvents.code, show(dbEvents)).toBe(0)
  const events = (JSON.parse(dbEvents.stdout) as { events: EventRow[] }).events
  expect(events.map(({ kind, outcome, from, to, error_class, exit_code }) => ({ kind, outcome, from, to, error_class, exit_code }))).toEqual([
    { kind: 'install', outcome: 'failed', from: A, to: C, error_class: 'checksum', exit_code: 4 },
  ])
  const dbTable = await release(['events', '--host', hostId(db1)])
  expect(dbTable.stdout).toMatch(new RegExp(`${hostId(db1)}  install +failed +${A.replaceAll('.', '\\.')} +${C.replaceAll('.', '\\.')} +checksum \\(exit 4\\)`))

  // Everything about B: web-1's install and its rollback, newest first.
  const aboutB = await release(['events', '--version', B, '--json'])
  const bRows = (JSON.parse(aboutB.stdout) as { events: EventRow[] }).events
  expect(bRows.map((e) => [e.host_id, e.kind, e.outcome])).toEqual([
    [hostId(web1), 'rollback', 'rolled-back'],
    [hostId(web1), 'install', 'installed'],
  ])
  // web-2's check is an event too.
  const web2Events = await release(['events', '--host', hostId(web2), '--json'])
  expect((JSON.parse(web2Events.stdout) as { events: EventRow[] }).events.map((e) => [e.kind, e.outcome])).toEqual([['check', 'up-to-date']])
})
