// Fleet benchmarks against real `wrangler dev` (workerd): fleet reports accepted per second
// from N simulated hosts (loopback only, bounded), next to the manifest read path of the same
// broker driven the same way (same client, same concurrency); then the fleet view's latency
// at N hosts next to `GET /v1/channels`, an admin-free read of the release Durable Object.
import { randomUUID } from 'node:crypto'
import { FLEET_REPORT_SCHEMA_VERSION, type FleetView } from '../../contract/fleet.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { median, type Figure } from './figures.ts'
import { checkErrorRate, drive, errorNote } from './load.ts'

export interface FleetBenchOptions {
  hosts: number
  /** Requests in flight at once. */
  concurrency: number
  /** Samples of each view latency. */
  viewSamples: number
}

const VERSIONS = ['2026.11.1', '2026.11.2', '2026.11.3']

function report(hostId: string, i: number, product: string): string {
  const version = VERSIONS[i % VERSIONS.length]!
  return JSON.stringify({
    schema: FLEET_REPORT_SCHEMA_VERSION,
    product,
    host_id: hostId,
    labels: { env: i % 4 === 0 ? 'prod' : 'staging' },
    channel: i % 5 === 0 ? 'beta' : 'stable',
    platform: 'linux-x86_64',
    version,
    check_interval_s: 3600,
    events: [{ id: randomUUID(), at: new Date().toISOString(), kind: 'check', outcome: 'up-to-date' }],
  })
}

async function latency(samples: number, request: () => Promise<Response>): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    const t = performance.now()
    const res = await request()
    await res.arrayBuffer()
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    times.push(performance.now() - t)
  }
  return times
}

export async function benchFleet(o: FleetBenchOptions, log: (line: string) => void): Promise<Figure[]> {
  const broker: DevBroker = await startBroker({ fleetReports: true })
  try {
    const product = 'cco'
    const hostIds = Array.from({ length: o.hosts }, () => randomUUID())
    const manifestUrl = `${broker.url}/v1/channels/stable/manifest`
    await (await fetch(manifestUrl)).arrayBuffer()

    log(`fleet: ${o.hosts} manifest reads, ${o.concurrency} in flight (baseline)`)
    const manifestRun = await drive(o.hosts, o.concurrency, () => fetch(manifestUrl), (s) => s === 200)
    checkErrorRate('fleet: manifest reads', manifestRun)
    log(`fleet: ${o.hosts} hosts report once, ${o.concurrency} in flight`)
    const auth = { authorization: `Bearer ${broker.fleetToken}`, 'content-type': 'application/json' }
    const reportRun = await drive(
      o.hosts,
      o.concurrency,
      (i) => fetch(`${broker.url}/v1/reports`, { method: 'POST', headers: auth, body: report(hostIds[i]!, i, product) }),
      (s) => s === 202,
    )
    checkErrorRate('fleet: reports', reportRun)
    const lost = Object.values(reportRun.errors).reduce((a, b) => a + b, 0)

    const admin = { authorization: `Bearer ${broker.adminToken}` }
    const view = (await (await fetch(`${broker.url}/v1/fleet`, { headers: admin })).json()) as FleetView
    // A report whose answer was lost (reset socket) may or may not have been recorded.
    if (view.hosts < o.hosts - lost || view.hosts > o.hosts) throw new Error(`the fleet view counts ${view.hosts} hosts, not ${o.hosts} (${lost} reports without an answer)`)
    const viewMs = await latency(o.viewSamples, () => fetch(`${broker.url}/v1/fleet`, { headers: admin }))
    const channelsMs = await latency(o.viewSamples, () => fetch(`${broker.url}/v1/channels`, { headers: { 'cache-control': 'no-cache' } }))
    const note = `${o.hosts} hosts, ${o.concurrency} in flight, wrangler dev; reports ${errorNote(reportRun)}; baseline ${errorNote(manifestRun)}`
    return [
      { name: 'fleet reports accepted', value: reportRun.rps, unit: 'req/s', baseline: { name: 'manifest GET, same client', value: manifestRun.rps }, better: 'higher', note },
      { name: `GET /v1/fleet at ${o.hosts} hosts, median`, value: median(viewMs), samples: viewMs, unit: 'ms', baseline: { name: 'GET /v1/channels', value: median(channelsMs), samples: channelsMs }, better: 'lower', note: `${o.viewSamples} samples` },
    ]
  } finally {
    await broker.stop()
  }
}
