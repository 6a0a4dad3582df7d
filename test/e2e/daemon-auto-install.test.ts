// End to end with real processes: the real broker (`wrangler dev`), a local download host, a
// signed release webhook announcing B, and a daemon of version A with auto_install on: it
// installs B through the broker's manifest and restarts into it; `/health` then reports B,
// cco.backup holds A, and `cco daemon logs | grep -i update` shows the update.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { daemonHost, isAlive, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const A = '2026.4.1'
const B = '2026.4.2'

let broker: DevBroker
let downloads: ReleaseServer
let bundleA: string
let bundleB: string
let host: DaemonHost | undefined

beforeAll(async () => {
  ;[bundleA, bundleB, broker, downloads] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1', STABLE_FROM_RELEASES: 'true' } }),
    startReleaseServer(),
  ])
}, 90_000)

afterAll(async () => {
  await host?.teardown()
  await broker?.stop()
  await downloads?.close()
}, 60_000)

it('a daemon with auto_install moves from A to B announced by webhook, and restarts into it', { timeout: 90_000 }, async () => {
  const { hook, downloadPath } = await announceRelease(broker, downloads, { version: B, binary: bundleB, body: 'Daemon restarts itself.' })
  expect(hook.status, broker.output()).toBe(200)

  host = await daemonHost({ installed: bundleA, config: { server: broker.url, keys: [broker.secrets.publicKey], autoInstall: true, interval: 'hourly' } })
  const h = host
  const start = await h.cco(['daemon', 'start'])
  expect(start.code, show(start)).toBe(0)
  const pidA = h.pidRecord()!.pid

  const health = await h.waitForHealth({ version: B, timeoutMs: 45_000 })
  expect(health.raw).toMatch(new RegExp(`^\\{"status":"ok","version":"${B.replace(/\./g, '\\.')}","uptime_seconds":\\d+,"channel":"stable","last_check":"[^"]+Z","update_available":false,`))
  await waitFor('the old daemon to exit', () => !isAlive(pidA))
  expect(h.pidRecord()).toMatchObject({ pid: health.body.pid, version: B, port: h.port })
  expect((await h.cco(['--version'])).stdout).toBe(`cco ${B}\n`)
  expect(readFileSync(h.backupPath)).toEqual(readFileSync(bundleA))
  expect(downloads.requests.some((r) => r.path === downloadPath)).toBe(true)

  // The administrator guide's one-liner.
  const grep = await runCco('/bin/sh', ['-c', `"${h.installPath}" daemon logs | grep -i update`], { home: h.home })
  expect(grep.code, show(grep)).toBe(0)
  for (const text of ['Starting update check', 'Installing update...', `Successfully updated to ${B}`]) expect(grep.stdout).toContain(text)
  const health2 = await h.cco(['health'])
  expect(health2.code, show(health2)).toBe(0)
  expect(health2.stdout).toContain(`"version":"${B}"`)
})
