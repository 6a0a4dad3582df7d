// `cco release fleet` against the real broker (`wrangler dev`, releases announced by signed
// webhooks, fleet reports on): hosts report schema 2 installs with what they downloaded (and an
// older client schema 1, without), and the summary shows each rollout's download per host, the
// differential share and the saving; `--json` passes the broker's figures through.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ReleaseFleetJson } from '../../contract/cli-json.ts'
import { FleetAccepted, type FleetReport } from '../../contract/fleet.ts'
import { main } from '../../client/src/main.ts'
import { byteSize, formatFleet } from '../../client/src/output/fleet.ts'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { testApp } from '../support/app-context.ts'

const FLEET_TOKEN = 'cco_fleet_downloads_81d3a6'
const A = '2026.9.1'
const B = '2026.9.2'
const MiB = 1024 * 1024
const ARCHIVE = Math.round(41.7 * MiB)
const DIFF = Math.round(0.9 * MiB)

let broker: DevBroker
let downloads: ReleaseServer
let home: CcoHome

beforeAll(async () => {
  ;[broker, downloads] = await Promise.all([startBroker({ vars: { ASSET_HOSTS: '127.0.0.1' }, fleetReports: FLEET_TOKEN }), startReleaseServer()])
  // Published releases are beta's: B at 100 %.
  for (const version of [A, B]) {
    const r = await announceRelease(broker, downloads, { version, binary: Buffer.from(`#!/bin/sh\necho ${version}\n`) })
    expect(r.hook.status, broker.output()).toBe(200)
  }
  home = makeHome('cco-release-fleet-downloads-')
  home.writeConfig({ server: broker.url })
}, 120_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  home?.cleanup()
})

async function post(body: FleetReport): Promise<void> {
  const res = await fetch(`${broker.url}/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect(res.status, await res.clone().text()).toBe(202)
}

const installReport = (schema: 1 | 2, download?: { bytes: number; differential: boolean; archive_bytes: number }): FleetReport => ({
  schema,
  product: 'cco',
  host_id: randomUUID(),
  channel: 'beta',
  platform: 'linux-x86_64',
  version: B,
  check_interval_s: 3600,
  events: [{ id: randomUUID(), at: new Date(Date.now() - 60_000).toISOString(), kind: 'install', outcome: 'installed', from: A, to: B, ...(download ? { download } : {}) }],
})

async function cco(args: string[]) {
  const app = testApp(home.home, { env: { CCO_ADMIN_TOKEN: broker.adminToken } })
  const code = await main(args, app)
  return { code, ...app.out }
}

describe('cco release fleet with download figures', () => {
  it('shows what each host downloaded against the full archive, the differential share and the saving', { timeout: 60_000 }, async () => {
    // 39 hosts fetched 0.9 MiB of chunks, one fell back to the whole archive, one older client says nothing.
    for (let i = 0; i < 39; i++) await post(installReport(2, { bytes: DIFF, differential: true, archive_bytes: ARCHIVE }))
    await post(installReport(2, { bytes: ARCHIVE + 200_000, differential: false, archive_bytes: ARCHIVE }))
    await post(installReport(1))

    const downloaded = 39 * DIFF + ARCHIVE + 200_000
    const full = 40 * ARCHIVE
    const json = await cco(['release', 'fleet', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const doc = ReleaseFleetJson.parse(JSON.parse(json.stdout))
    const beta = doc.rollouts.find((r) => r.channel === 'beta')!
    expect(beta).toMatchObject({ version: B, on_channel: 41, installed: 41, downloads: 40, differential: 39, downloaded_bytes: downloaded, full_bytes: full, saved_bytes: full - downloaded })
    expect(beta.saved_percent).toBe(Math.round(((full - downloaded) / full) * 1000) / 10)

    const human = await cco(['release', 'fleet'])
    expect(human.code, human.stderr).toBe(0)
    const perHost = byteSize(Math.round(downloaded / 40))
    expect(perHost).toBe('1.9 MiB')
    expect(human.stdout).toContain(`→ beta ${B}: downloaded 1.9 MiB of 41.7 MiB per host (40 hosts, differential 98 %, saved ${byteSize(full - downloaded)})`)
    expect(byteSize(full - downloaded)).toBe('1.6 GiB')
    // The stable channel has no release and no downloads: no line for it.
    expect(human.stdout).not.toMatch(/→ stable .*downloaded/)
  })
})

describe('byte sizes', () => {
  it('are binary units with one decimal from KiB up', () => {
    expect([0, 1023, 1024, 1536, MiB - 1, 41.7 * MiB, 40.8 * 1024 * MiB, -2 * MiB].map(byteSize)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '1.0 MiB', '41.7 MiB', '40.8 GiB', '-2.0 MiB'])
  })
})

describe('the download line', () => {
  const rollout = { channel: 'stable', version: '2026.11.3', percent: 100, halted: false, on_channel: 2, in_bucket: 2, installed: 2, rolled_back: 0, failed: 0, not_seen: 0 }
  const summary = (r: Record<string, unknown>) => {
    const view = FleetAccepted.FleetView.parse({ generated_at: '2026-11-20T10:00:00Z', shards: 16, hosts: 2, stale: 0, by_version: [], by_platform: [], by_label: [], by_label_complete: true, rollouts: [r] })
    return formatFleet({ server: 'https://broker.example', view, staleHosts: [], json: null }).filter((l) => l.includes('downloaded'))
  }

  it('is not shown for a broker that sends no download figures, nor for a rollout without downloads', () => {
    expect(summary(rollout)).toEqual([])
    expect(summary({ ...rollout, downloads: 0, differential: 0, downloaded_bytes: 0, full_bytes: 0, saved_bytes: 0, saved_percent: null })).toEqual([])
  })

  it('says what fallbacks cost when they cost more than chunks saved', () => {
    const r = { ...rollout, downloads: 2, differential: 1, downloaded_bytes: 90 * MiB, full_bytes: 84 * MiB, saved_bytes: -6 * MiB, saved_percent: -7.1 }
    expect(summary(r)).toEqual(['→ stable 2026.11.3: downloaded 45.0 MiB of 42.0 MiB per host (2 hosts, differential 50 %, cost 6.0 MiB more)'])
  })
})
