// A bounded fleet through the real Worker: 10 000 host ids report (in concurrent chunks, on
// loopback inside workerd), a fifth of them retry, and GET /v1/fleet then counts exactly what
// was sent, rollouts included (buckets computed here from the written rule); the hosts listing
// pages through every host once. Then one shard at the size 1 M hosts give each of 16 shards.
// Prints the throughput and the views' latency.
import { reset, runInDurableObject } from 'cloudflare:test'
import { afterAll, describe, expect, it } from 'vitest'
import { FleetServed, type FleetReport } from '../../contract/fleet.ts'
import { PLATFORMS } from '../../contract/platform.ts'
import { hostHash } from '../../worker/fleet/shards.ts'
import { NO_DOWNLOADS, expectedBucket, fleetGet, postReport, report, shardStub, storedTotals, uuid } from './fleet-helpers.ts'
import { adminPost, backdateLive, publish } from './helpers.ts'

const HOSTS = 10_000
const CHUNK = 200
const RETRIES = HOSTS / 5

afterAll(async () => {
  await reset()
})

interface Host {
  id: string
  channel: 'stable' | 'beta'
  version: string
  platform: (typeof PLATFORMS)[number] | null
  role: string
  failedTo: string | null
}

/** A deterministic mix: versions, channels, platforms, roles, and some failed installs. */
function fleetOf(n: number): Host[] {
  return Array.from({ length: n }, (_, i) => {
    const channel = i % 4 === 0 ? 'beta' : 'stable'
    const version = channel === 'beta' ? (i % 8 === 0 ? '2026.11.2' : '2026.11.1') : i % 3 === 0 ? '2026.11.1' : '2026.11.0'
    const failedTo = channel === 'stable' && version === '2026.11.0' && i % 7 === 0 ? '2026.11.1' : null
    return { id: uuid(), channel, version, platform: i % 11 === 0 ? null : PLATFORMS[i % PLATFORMS.length]!, role: ['web', 'db', 'batch'][i % 3]!, failedTo }
  })
}

function reportOf(h: Host): FleetReport {
  const events: Partial<FleetReport['events'][number]>[] = h.failedTo ? [{}, { kind: 'install', outcome: 'failed', to: h.failedTo, error_class: 'download.timeout' }] : [{}]
  return report(h.id, { channel: h.channel, version: h.version, platform: h.platform, labels: { role: h.role }, events })
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now()
  const out = await f()
  return [out, performance.now() - start]
}

describe(`a fleet of ${HOSTS} hosts`, () => {
  it('is counted exactly by GET /v1/fleet after every host reported through the Worker', { timeout: 600_000 }, async () => {
    for (const v of ['2026.11.0', '2026.11.1', '2026.11.2']) {
      await publish(v)
      await backdateLive(v, 25)
    }
    expect((await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', percent: 25 })).status).toBe(200)

    const fleet = fleetOf(HOSTS)
    const reports = fleet.map(reportOf)
    const [, sendMs] = await timed(async () => {
      for (let i = 0; i < reports.length; i += CHUNK) {
        const answers = await Promise.all(reports.slice(i, i + CHUNK).map((r) => postReport(r)))
        for (const a of answers) if (a.status !== 202) throw new Error(`refused: ${a.status} ${JSON.stringify(a.body)}`)
      }
    })
    // A fifth of the hosts send the same report again (a retry after a lost answer).
    const [retried, retryMs] = await timed(async () => {
      let duplicates = 0
      for (let i = 0; i < RETRIES; i += CHUNK) {
        const answers = await Promise.all(reports.slice(i, Math.min(i + CHUNK, RETRIES)).map((r) => postReport(r)))
        for (const a of answers) {
          expect(a.body.accepted).toBe(0)
          duplicates += a.body.duplicates
        }
      }
      return duplicates
    })
    const eventsSent = reports.reduce((n, r) => n + r.events.length, 0)
    expect(retried).toBe(reports.slice(0, RETRIES).reduce((n, r) => n + r.events.length, 0))
    expect(await storedTotals()).toEqual({ hosts: HOSTS, events: eventsSent, labels: HOSTS })

    const [first, firstMs] = await timed(() => fleetGet('/v1/fleet'))
    const [second, secondMs] = await timed(() => fleetGet('/v1/fleet'))
    const view = FleetServed.FleetView.parse(first.body)
    expect(FleetServed.FleetView.parse(second.body)).toEqual({ ...view, generated_at: second.body.generated_at })

    // The counts, worked out here from what was sent.
    const count = <K extends string | null>(key: (h: Host) => K) => fleet.reduce((m, h) => m.set(key(h), (m.get(key(h)) ?? 0) + 1), new Map<K, number>())
    expect(view).toMatchObject({ hosts: HOSTS, stale: 0, by_label_complete: true })
    const versions = count((h) => `${h.version} ${h.channel}`)
    expect(new Map(view.by_version.map((v) => [`${v.version} ${v.channel}`, v.hosts]))).toEqual(versions)
    expect(new Map(view.by_platform.map((p) => [p.platform, p.hosts]))).toEqual(count((h) => h.platform))
    expect(new Map(view.by_label.map((l) => [`${l.key}=${l.value}`, l.hosts]))).toEqual(count((h) => `role=${h.role}`))

    const stable = fleet.filter((h) => h.channel === 'stable')
    const inBucket = (await Promise.all(stable.map((h) => expectedBucket(h.id, '2026.11.1')))).map((b) => b < 25)
    const installed = stable.filter((h) => h.version === '2026.11.1').length
    const failed = stable.filter((h) => h.version !== '2026.11.1' && h.failedTo === '2026.11.1').length
    const notSeen = stable.filter((h, i) => inBucket[i] && h.version !== '2026.11.1' && h.failedTo !== '2026.11.1').length
    expect(view.rollouts[0]).toEqual({ channel: 'stable', version: '2026.11.1', percent: 25, halted: false, on_channel: stable.length, in_bucket: inBucket.filter(Boolean).length, installed, rolled_back: 0, failed, not_seen: notSeen, ...NO_DOWNLOADS })
    const beta = fleet.filter((h) => h.channel === 'beta')
    expect(view.rollouts[1]).toEqual({ channel: 'beta', version: '2026.11.2', percent: 100, halted: false, on_channel: beta.length, in_bucket: beta.length, installed: beta.filter((h) => h.version === '2026.11.2').length, rolled_back: 0, failed: 0, not_seen: beta.filter((h) => h.version !== '2026.11.2').length, ...NO_DOWNLOADS })

    // Every host exactly once through the paged listing.
    const [seen, pagingMs, pages] = await (async () => {
      const start = performance.now()
      const ids: string[] = []
      let cursor: string | null = null
      let n = 0
      do {
        const page = FleetServed.FleetHostPage.parse((await fleetGet(`/v1/fleet/hosts?limit=500${cursor ? `&cursor=${cursor}` : ''}`)).body)
        ids.push(...page.hosts.map((h) => h.host_id))
        cursor = page.next_cursor
        n++
      } while (cursor !== null)
      return [ids, performance.now() - start, n] as const
    })()
    expect(seen).toEqual(fleet.map((h) => h.id).sort())

    const perSecond = (n: number, ms: number) => Math.round((n / ms) * 1000)
    console.log(
      [
        `fleet simulation: ${HOSTS} hosts, ${eventsSent} events, chunks of ${CHUNK} concurrent reports`,
        `  first reports: ${(sendMs / 1000).toFixed(1)} s, ${perSecond(HOSTS, sendMs)} reports/s`,
        `  ${RETRIES} retried reports (all duplicates): ${(retryMs / 1000).toFixed(1)} s, ${perSecond(RETRIES, retryMs)} reports/s`,
        `  GET /v1/fleet: ${firstMs.toFixed(0)} ms the first time (computes ${stable.length} rollout buckets), ${secondMs.toFixed(0)} ms after`,
        `  GET /v1/fleet/hosts: ${pages} pages of 500 in ${pagingMs.toFixed(0)} ms (${(pagingMs / pages).toFixed(0)} ms a page)`,
      ].join('\n'),
    )
  })
})

describe('one shard at 1 M hosts / 16', () => {
  const SHARD_HOSTS = 62_500

  it('takes reports straight over RPC, and sums 62 500 hosts in SQL', { timeout: 600_000 }, async () => {
    await reset()
    const writes = 4000
    const reports = Array.from({ length: writes }, () => report(uuid(), { labels: { role: 'web' } }))
    let start = performance.now()
    for (let i = 0; i < writes; i += CHUNK) await Promise.all(reports.slice(i, i + CHUNK).map((r) => shardStub(0).report(r)))
    const writeMs = performance.now() - start

    // The rows a shard holds for 62 500 hosts, written straight into its storage (reporting them
    // one by one would only repeat the measurement above).
    const stub = shardStub(1)
    const ids = Array.from({ length: SHARD_HOSTS }, uuid)
    const hashes = await Promise.all(ids.map(hostHash))
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql
      const now = Date.now()
      state.storage.transactionSync(() => {
        ids.forEach((id, k) => {
          const [channel, version] = k % 4 === 0 ? ['beta', '2026.11.2'] : k % 3 === 0 ? ['stable', '2026.11.1'] : ['stable', '2026.11.0']
          sql.exec(
            `INSERT INTO hosts (host_id, shard_hash, labels, channel, platform, version, version_key, check_interval_s, first_seen, last_seen, stale_after, state_at, last_kind, last_outcome, last_event_at)
             VALUES (?, ?, '{"role":"web"}', ?, 'linux-x86_64', ?, ?, 3600, ?, ?, ?, ?, 'check', 'up-to-date', ?)`,
            id, hashes[k]!, channel, version, version, now, now, now + 7_200_000, now, now,
          )
          // Stable's installs of 2026.11.1 said what they downloaded: every other one from chunks.
          if (version === '2026.11.1') {
            sql.exec(
              `UPDATE hosts SET download_to_key = ?, download_at = ?, download_bytes = ?, download_differential = ?, download_archive_bytes = ? WHERE host_id = ?`,
              version, now, k % 2 === 0 ? 900_000 : 43_000_000, k % 2 === 0 ? 1 : 0, 43_000_000, id,
            )
          }
          sql.exec(`INSERT INTO host_labels (host_id, key, value) VALUES (?, 'role', 'web')`, id)
          sql.exec(`INSERT INTO events (host_id, id, shard_hash, at, received_at, kind, outcome) VALUES (?, ?, ?, ?, ?, 'check', 'up-to-date')`, id, uuid(), hashes[k]!, now, now)
        })
      })
    })
    const rollouts = [
      { channel: 'stable' as const, version: '2026.11.1', percent: 30, halted: false },
      { channel: 'beta' as const, version: '2026.11.2', percent: 100, halted: false },
    ]
    const times: number[] = []
    for (let round = 0; round < 3; round++) {
      start = performance.now()
      const s = await stub.summary({ shards: 1, index: 0, rollouts })
      times.push(performance.now() - start)
      expect(s).toMatchObject({ hosts: SHARD_HOSTS, stale: 0, byLabel: [{ key: 'role', value: 'web', hosts: SHARD_HOSTS }] })
      const beta = ids.filter((_, k) => k % 4 === 0).length
      const installed = ids.filter((_, k) => k % 4 !== 0 && k % 3 === 0).length
      const fromChunks = ids.filter((_, k) => k % 4 !== 0 && k % 3 === 0 && k % 2 === 0).length
      expect(s.rollouts[0]).toMatchObject({ onChannel: SHARD_HOSTS - beta, installed, downloads: installed, differential: fromChunks, fullBytes: installed * 43_000_000 })
      expect(s.rollouts[0]!.downloadedBytes).toBe(fromChunks * 900_000 + (installed - fromChunks) * 43_000_000)
      expect(s.rollouts[1]).toMatchObject({ onChannel: beta, inBucket: beta, installed: beta, notSeen: 0 })
    }
    start = performance.now()
    expect(await stub.hosts({ shards: 1, index: 0, limit: 501, channel: 'beta', label: { key: 'role', value: 'web' } })).toHaveLength(501)
    const pageMs = performance.now() - start

    console.log(
      [
        `one shard: ${writes} reports over RPC in ${(writeMs / 1000).toFixed(1)} s, ${Math.round((writes / writeMs) * 1000)} reports/s`,
        `  summary of ${SHARD_HOSTS} hosts (a quarter of them with a recorded download): ${times.map((t) => t.toFixed(0)).join(' ms, ')} ms (the first computes the rollout buckets)`,
        `  a filtered page of 501 hosts: ${pageMs.toFixed(0)} ms`,
      ].join('\n'),
    )
  })
})
