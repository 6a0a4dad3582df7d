// End to end with real processes: the real broker (`wrangler dev`), a local HTTP server standing
// in for GitHub's download host, a signed release webhook whose archive holds a cco bundle of
// version B, and a host in a temporary HOME running version A: `cco update --check`, then
// `cco update --yes` moves it to B, keeps cco.backup, and `cco rollback` brings A back.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const A = '2026.3.1'
const B = '2026.3.2'

let broker: DevBroker
let downloads: ReleaseServer
let host: CcoHome
let bundleA: string
let bundleB: string

beforeAll(async () => {
  ;[bundleA, bundleB, broker, downloads] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1', STABLE_FROM_RELEASES: 'true' } }),
    startReleaseServer(),
  ])
  host = makeHome('cco-e2e-home-')
  host.writeConfig({ server: broker.url, keys: [broker.secrets.publicKey] })
  host.install(bundleA)
}, 90_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  host?.cleanup()
})

const cco = (args: string[]) => runCco(host.installPath, args, { home: host.home })
const installed = async () => (await cco(['--version'])).stdout.trim()

it('updates A → B from a release announced by webhook, keeps the backup and rolls back', { timeout: 90_000 }, async () => {
  // GitHub's side: the release archive on the download host, announced by a signed webhook.
  const { hook, downloadPath } = await announceRelease(broker, downloads, { version: B, binary: bundleB, body: 'Faster updates.' })
  expect(hook.status, broker.output()).toBe(200)

  const check = await cco(['update', '--check'])
  expect(check.code, show(check)).toBe(0)
  expect(check.stdout).toBe(
    ['→ Checking for updates...', `→ Current version: ${A}`, `→ Latest version: ${B}`, `ℹ️  New version available: ${B}`, ''].join('\n'),
  )
  expect(await installed()).toBe(`cco ${A}`)

  const update = await cco(['update', '--yes'])
  expect(update.code, show(update)).toBe(0)
  expect(update.stdout).toContain('Faster updates.')
  expect(update.stdout).toContain(`✅ Successfully updated to ${B}`)
  expect(await installed()).toBe(`cco ${B}`)
  expect(readFileSync(host.backupPath)).toEqual(readFileSync(bundleA))
  // The archive came from the download host, through the broker's asset redirect.
  expect(downloads.requests.some((r) => r.path === downloadPath)).toBe(true)

  const latest = await cco(['update', '--check'])
  expect(latest.stdout, show(latest)).toContain('✅ You are running the latest version')

  const rollback = await cco(['rollback'])
  expect(rollback.code, show(rollback)).toBe(0)
  expect(rollback.stdout).toContain(`✅ Rolled back to version ${A}`)
  expect(await installed()).toBe(`cco ${A}`)
  expect(readFileSync(host.backupPath)).toEqual(readFileSync(bundleB))

  const version = await runCco('/bin/sh', ['-c', `"${host.installPath}" version | head -1 | awk '{print $3}'`], { home: host.home })
  expect(version.stdout).toBe(`${A}\n`)
})
