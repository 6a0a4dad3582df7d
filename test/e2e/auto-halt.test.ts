// The failure guard end to end with real processes: the real broker (`wrangler dev`) taking
// fleet reports, a release whose archive is corrupted on the download host, and three hosts
// running the real client with `fleet.report = true` whose installs fail its checksum. Their
// reports halt the rollout on its own (actor `auto-halt`); a fourth host then checks and never
// installs the release. Prints how long the halt took to show in the served manifest.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { announceRelease } from '../../support/announce-release.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const A = '2026.8.1'
const B = '2026.8.2'
const FLEET_TOKEN = 'cco_fleet_e2e_auto_halt_71c4'

let broker: DevBroker
let downloads: ReleaseServer
const bundles: Record<string, string> = {}
const homes: CcoHome[] = []

beforeAll(async () => {
  ;[bundles[A], bundles[B], broker, downloads] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1', STABLE_FROM_RELEASES: 'true' }, fleetReports: FLEET_TOKEN }),
    startReleaseServer(),
  ])
}, 120_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  for (const h of homes) h.cleanup()
})

function host(name: string): CcoHome {
  const h = makeHome(`cco-e2e-halt-${name}-`)
  homes.push(h)
  h.writeConfig({ server: broker.url, keys: [broker.secrets.publicKey], extra: `[fleet]\nreport = true\nname = "${name}"\n` })
  h.install(bundles[A]!)
  return h
}

const cco = (h: CcoHome, args: string[]) => runCco(h.installPath, args, { home: h.home, env: { CCO_FLEET_TOKEN: FLEET_TOKEN } })

async function stableManifest(): Promise<{ seq: number; rollout: { halted: boolean } }> {
  const res = await fetch(`${broker.url}/v1/channels/stable/manifest`)
  const jws = (await res.json()) as { payload: string }
  return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'))
}

it('a release that fails on three hosts halts itself, and a fourth host never installs it', { timeout: 240_000 }, async () => {
  const a = await announceRelease(broker, downloads, { version: A, binary: bundles[A]! })
  expect(a.hook.status, broker.output()).toBe(200)
  const b = await announceRelease(broker, downloads, { version: B, binary: bundles[B]! })
  expect(b.hook.status, broker.output()).toBe(200)
  // The download host now serves other bytes of the same size: every install of B fails its checksum.
  const corrupt = Buffer.from(releaseTarGz(readFileSync(bundles[B]!)))
  corrupt.writeUInt8(corrupt.readUInt8(200) ^ 1, 200)
  downloads.file(b.downloadPath, corrupt)
  const before = await stableManifest()
  expect(before.rollout.halted).toBe(false)

  const failing = ['web-1', 'web-2', 'web-3'].map(host)
  let lastReportDone = 0
  for (const h of failing) {
    const r = await cco(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(4)
    expect(r.stderr).not.toContain('fleet report')
    lastReportDone = performance.now()
  }

  // The halt is committed after the third report's 202; the colo's cached manifest is purged with it.
  let halted: { seq: number; rollout: { halted: boolean } } | null = null
  while (performance.now() - lastReportDone < 30_000) {
    const m = await stableManifest()
    if (m.rollout.halted) {
      halted = m
      break
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  const tookMs = Math.round(performance.now() - lastReportDone)
  console.log(`auto-halt: the served stable manifest said halted ${tookMs} ms after the third failing host's cco update exited`)
  expect(halted, broker.output()).not.toBeNull()
  expect(halted!.seq).toBeGreaterThan(before.seq)

  const channels = (await (await fetch(`${broker.url}/v1/channels`, { headers: { 'cache-control': 'no-cache' } })).json()) as { channels: { channel: string; rollout: { reason: string; halted_by: string } }[] }
  expect(channels.channels.find((c) => c.channel === 'stable')!.rollout).toMatchObject({ halted_by: 'auto-halt', reason: `auto-halt: 3 of 3 hosts (100 %) failed ${B}` })

  const fourth = host('web-4')
  const check = await cco(fourth, ['update', '--yes'])
  expect(check.code, show(check)).toBe(0)
  const version = await cco(fourth, ['--version'])
  expect(version.stdout).toContain(A)
  expect(version.stdout).not.toContain(B)
  // Only the three failing hosts ever downloaded B.
  expect(downloads.requests.filter((r) => r.path === b.downloadPath && r.method === 'GET')).toHaveLength(3)
})
