// Every command that takes `--json`, run as a real process (a cco bundle) against the real
// broker (`wrangler dev`, releases announced by signed webhooks, fleet reports on), its stdout
// read with the command's schema from contract/cli-json.ts (strict objects: an unknown or
// camelCase key fails), every key checked to be snake_case, `schema` checked to be there; and
// the commands having `--json` in the commander program checked to be exactly those run here.
import { copyFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI_JSON, CLI_JSON_SCHEMA, type CliJsonCommand, ErrorJson } from '../../contract/cli-json.ts'
import { buildProgram } from '../../client/src/main.ts'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { collect, runCco, show, spawnCco, type CcoRun } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { freePort } from '../../support/ports.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { testApp } from '../support/app-context.ts'
import { daemonHost, getHealth, waitFor, type DaemonHost } from '../support/daemon-host.ts'

const A = '2026.8.1'
const B = '2026.8.2'
const FLEET_TOKEN = 'cco_fleet_json_5e0c2b7d41'

let broker: DevBroker
let downloads: ReleaseServer
const bundles: Record<string, string> = {}
let host: CcoHome
let daemon: DaemonHost | undefined
const covered = new Set<CliJsonCommand>()

beforeAll(async () => {
  ;[bundles[A], bundles[B], broker, downloads] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1' }, fleetReports: FLEET_TOKEN }),
    startReleaseServer(),
  ])
  for (const version of [A, B]) {
    const r = await announceRelease(broker, downloads, { version, binary: bundles[version]! })
    expect(r.hook.status, broker.output()).toBe(200)
  }
  // A host of the broker's with fleet reports on, running A.
  host = makeHome('cco-json-host-')
  host.writeConfig({ server: broker.url, keys: [broker.secrets.publicKey], extra: '[fleet]\nreport = true\nname = "json-1"\n[fleet.labels]\nenv = "Prod"\n' })
  host.install(bundles[A]!)
}, 120_000)

afterAll(async () => {
  await daemon?.teardown()
  await broker?.stop()
  await downloads?.close()
  host?.cleanup()
})

const env = { CCO_FLEET_TOKEN: FLEET_TOKEN }
const cco = (args: string[], extra: Record<string, string> = {}) => runCco(host.installPath, args, { home: host.home, env: { ...env, ...extra } })
const admin = (args: string[]) => cco(['release', ...args], { CCO_ADMIN_TOKEN: broker.adminToken })

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/
/**
 * Keys whose value is a map keyed by data, not by field names: label keys, platform keys
 * (`linux-x86_64`), channel names (a yank's re-signed channels) and an audit entry's stored facts.
 */
const MAPS = new Set(['labels', 'assets', 'detail'])

/** Every key of every object in `value` that is not snake_case, with its path. */
function nonSnakeKeys(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${path}[${i}]`))
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => {
    const here = SNAKE.test(k) ? [] : [`${path}.${k}`]
    const isMap = MAPS.has(k) || (k === 'channels' && v !== null && typeof v === 'object' && !Array.isArray(v))
    return [...here, ...(isMap ? [] : nonSnakeKeys(v, `${path}.${k}`))]
  })
}

/** One `--json` document: `schema` on top, snake_case keys, and the command's strict schema. */
function expectDocument(command: CliJsonCommand, run: CcoRun, exitCode = 0): Record<string, unknown> {
  expect(run.code, show(run)).toBe(exitCode)
  const doc = JSON.parse(run.stdout) as Record<string, unknown>
  expect(Object.keys(doc)[0], `${command}: schema comes first`).toBe('schema')
  expect(doc.schema).toBe(CLI_JSON_SCHEMA)
  expect(nonSnakeKeys(doc), `${command}: keys that are not snake_case`).toEqual([])
  const parsed = CLI_JSON[command].safeParse(doc)
  expect(parsed.success, `${command} --json does not match contract/cli-json.ts:\n${JSON.stringify(parsed.error?.issues, null, 1)}\n${run.stdout}`).toBe(true)
  covered.add(command)
  return doc
}

function expectError(run: CcoRun, exitCode: number): void {
  expect(run.code, show(run)).toBe(exitCode)
  const doc = JSON.parse(run.stdout) as unknown
  expect(nonSnakeKeys(doc)).toEqual([])
  const parsed = ErrorJson.safeParse(doc)
  expect(parsed.success, `${run.stdout}\n${JSON.stringify(parsed.error?.issues)}`).toBe(true)
}

describe('local commands', () => {
  it('version and config show/get/set/path', async () => {
    const v = expectDocument('version', await cco(['version', '--json']))
    expect(v).toMatchObject({ version: A, install_path: host.installPath })
    const c = expectDocument('config show', await cco(['config', 'show', '--json']))
    expect(c.fleet).toMatchObject({ report: true, token: 'environment', labels: { env: 'Prod' } })
    expectDocument('config get', await cco(['config', 'get', 'updates.channel', '--json']))
    expectDocument('config set', await cco(['config', 'set', 'updates.check_interval', 'daily', '--json']))
    expectDocument('config path', await cco(['config', 'path', '--json']))
    // A failure prints the error document (same schema number), here a usage error.
    expectError(await cco(['config', 'get', 'updates.nope', '--json']), 2)
  })
})

describe('against the real broker', () => {
  it('release promote, then update --check, update --yes and rollback on a host', async () => {
    const p = expectDocument('release promote', await admin(['promote', B, '--json']))
    expect(p).toMatchObject({ channel: 'stable', version: B, changed: true })

    const check = expectDocument('update', await cco(['update', '--check', '--json']))
    expect(check).toMatchObject({ status: 'available', latest_version: B, installed: null })
    const up = expectDocument('update', await cco(['update', '--yes', '--json']))
    expect(up).toMatchObject({ status: 'updated', installed: { version: B, previous_version: A, install_path: host.installPath, backup_path: host.backupPath } })
    const back = expectDocument('rollback', await cco(['rollback', '--json']))
    expect(back).toMatchObject({ version: A, previous_version: B, install_path: host.installPath })
    // A chosen version: `pin` says what its signed statement said.
    const pin = expectDocument('update', await cco(['update', '--version', B, '--check', '--json']))
    expect(pin.pin).toMatchObject({ requested_version: B, version: B, direction: 'upgrade' })
  })

  it('fleet report --dry-run and a real send', async () => {
    // A check whose report the broker refuses (wrong token) stays queued: the dry run shows its body.
    expect((await cco(['update', '--check'], { CCO_FLEET_TOKEN: 'cco_fleet_wrong_0000000000' })).code).toBe(0)
    const dry = expectDocument('fleet report', await cco(['fleet', 'report', '--dry-run', '--json']))
    expect(dry).toMatchObject({ dry_run: true, reports: [{ name: 'json-1', labels: { env: 'Prod' }, events: [{ kind: 'check' }] }] })
    const sent = expectDocument('fleet report', await cco(['fleet', 'report', '--json']))
    expect(sent).toMatchObject({ dry_run: false, server: broker.url, sent: 1, pending: 0 })
  })

  it('release status, rollout, halt, resume, guard, yank, unyank and audit', async () => {
    const s = expectDocument('release status', await admin(['status', '--json']))
    expect((s.releases as unknown[]).length).toBe(2)
    expectDocument('release rollout', await admin(['rollout', '50', '--json']))
    expectDocument('release halt', await admin(['halt', '--reason', 'json test', '--json']))
    expectDocument('release resume', await admin(['resume', '--json']))
    expectDocument('release guard', await admin(['guard', '--min-failures', '4', '--json']))
    const y = expectDocument('release yank', await admin(['yank', A, '--reason', 'json test', '--json']))
    expect(y.release).toMatchObject({ version: A, yanked: { reason: 'json test' } })
    expectDocument('release unyank', await admin(['unyank', A, '--json']))
    const audit = expectDocument('release audit', await admin(['audit', '-n', '50', '--json']))
    expect((audit.entries as unknown[]).length).toBeGreaterThan(5)
    // The broker's refusal, as the error document.
    expectError(await admin(['yank', '2099.1.1', '--reason', 'x', '--json']), 1)
  })

  it('release fleet, fleet hosts and fleet events', async () => {
    const f = expectDocument('release fleet', await admin(['fleet', '--json']))
    expect(f.hosts).toBe(1)
    const h = expectDocument('release fleet hosts', await admin(['fleet', 'hosts', '--json']))
    expect(h.hosts).toMatchObject([{ name: 'json-1', labels: { env: 'Prod' } }])
    const e = expectDocument('release fleet events', await admin(['fleet', 'events', '--json']))
    expect((e.events as unknown[]).length).toBeGreaterThan(0)
  })
})

describe('the daemon', () => {
  it('daemon start, status, health, logs, restart, stop, install, uninstall, watchdog', { timeout: 120_000 }, async () => {
    daemon = await daemonHost({ installed: bundles[A]!, config: { server: broker.url, keys: [broker.secrets.publicKey], interval: 'never' } })
    const d = daemon
    const started = expectDocument('daemon start', await d.cco(['daemon', 'start', '--json']))
    d.track(started.pid as number)
    const status = expectDocument('daemon status', await d.cco(['daemon', 'status', '--json']))
    expect(status).toMatchObject({ running: true, healthy: true, version: A })
    const health = expectDocument('health', await d.cco(['health', '--json']))
    expect(health.health).toMatchObject({ status: 'ok', version: A })
    expectDocument('daemon logs', await d.cco(['daemon', 'logs', '--json']))
    const restarted = expectDocument('daemon restart', await d.cco(['daemon', 'restart', '--json']))
    d.track((restarted.started as { pid: number }).pid)
    const stopped = expectDocument('daemon stop', await d.cco(['daemon', 'stop', '--json']))
    expect(stopped.was_running).toBe(true)
    // Not running: the document is still printed, and the exit code says so (3).
    expect(expectDocument('daemon status', await d.cco(['daemon', 'status', '--json']), 3).running).toBe(false)
    expectDocument('daemon install', await d.cco(['daemon', 'install', '--json']))
    expectDocument('daemon uninstall', await d.cco(['daemon', 'uninstall', '--json']))
    // The hidden watchdog, told to wait for B on a free port where nothing answers: it puts
    // cco.backup (A) back. Without a backup it fails (exit 1), with the error document.
    const port = await freePort()
    const watch = ['daemon', 'watchdog', '--expect', B, '--port', String(port), '--timeout', '1', '--json']
    expectError(await d.cco(watch, { timeoutMs: 60_000 }), 1)
    copyFileSync(bundles[A]!, d.backupPath)
    const w = expectDocument('daemon watchdog', await d.cco(watch, { timeoutMs: 60_000 }))
    expect(w).toMatchObject({ outcome: 'rolled-back', version: A })
  })

  it('run --json prints its document when the foreground daemon is stopped', { timeout: 60_000 }, async () => {
    const d = daemon!
    const port = await freePort()
    const child = spawnCco(d.installPath, ['run', '--port', String(port), '--json'], { home: d.home, env: d.env })
    d.track(child.pid)
    const done = collect(child, { timeoutMs: 50_000 })
    await waitFor('the foreground daemon', async () => (await getHealth(port))?.body.status === 'ok')
    child.kill('SIGTERM')
    const r = expectDocument('run', await done)
    expect(r).toMatchObject({ stopped_by: 'signal', signal: 'SIGTERM', version: A })
  })
})

describe('coverage', () => {
  it('the commands having --json in the program are exactly the schemas of contract/cli-json.ts, and each was run above', () => {
    type Node = ReturnType<typeof buildProgram>
    const withJson: string[] = []
    const walk = (cmd: Node, path: string[]) => {
      if (cmd.options.some((o) => o.long === '--json')) withJson.push(path.join(' '))
      for (const c of cmd.commands) walk(c, [...path, c.name()])
    }
    walk(buildProgram(testApp(host.home), () => {}), [])
    // `cco release fleet` runs its hidden default subcommand, `summary`.
    const paths = withJson.map((p) => (p === 'release fleet summary' ? 'release fleet' : p)).sort()
    expect(paths).toEqual(Object.keys(CLI_JSON).sort())
    expect([...covered].sort()).toEqual(paths)
  })

})
