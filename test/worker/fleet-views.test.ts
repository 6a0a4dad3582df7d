// The fleet views through the real Worker: each channel's rollout against the hosts that report
// on it (counted here on our own from the written rollout rule), the hosts listing's filters,
// paging across all 16 shards (every host and event exactly once, in order), retention by the
// shards' alarm, and a change of FLEET_SHARDS that counts no host twice.
import { reset, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { FleetServed, type FleetEventView, type FleetHost, type FleetReport } from '../../contract/fleet.ts'
import { createApp } from '../../worker/app.ts'
import { NO_DOWNLOADS, FLEET_TOKENS, expectedBucket, expectedShard, fleetGet, inShard, postAll, postReport, report, shardRows, shardStub, storedTotals, uuid } from './fleet-helpers.ts'
import { BROKER, TOKENS, adminPost, backdateLive, publish } from './helpers.ts'

afterEach(async () => {
  await reset()
})

const DAY = 86_400_000

describe('rollout progress in GET /v1/fleet', () => {
  it('counts each channel\'s hosts in the bucket, installed, failed, rolled back and not yet seen', async () => {
    // This project asks for 24 hours on beta before a promotion.
    for (const v of ['2026.11.0', '2026.11.1', '2026.11.2']) {
      await publish(v)
      await backdateLive(v, 25)
    }
    expect((await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', percent: 30 })).status).toBe(200)
    expect((await adminPost('/v1/channels/beta/rollout', { percent: 50 })).status).toBe(200)
    expect((await adminPost('/v1/channels/beta/halt', { reason: 'crash on start' })).status).toBe(200)

    // What each host says, and what it means for its channel's rollout.
    interface Seeded {
      channel: 'stable' | 'beta'
      running: string
      failedTo?: string
      rolledBackFrom?: string
      events: Partial<FleetReport['events'][number]>[]
    }
    const kinds: [number, Seeded][] = [
      [25, { channel: 'stable', running: '2026.11.1', events: [{ kind: 'install', outcome: 'installed', from: '2026.11.0', to: '2026.11.1' }] }],
      // Other spellings of the same version.
      [5, { channel: 'stable', running: '2026.11.1.0', events: [{}] }],
      [5, { channel: 'stable', running: 'v2026.11.1', events: [{}] }],
      [15, { channel: 'stable', running: '2026.11.0', failedTo: '2026.11.1', events: [{ kind: 'install', outcome: 'failed', to: '2026.11.1', error_class: 'download.timeout' }] }],
      [
        10,
        {
          channel: 'stable',
          running: '2026.11.0',
          rolledBackFrom: '2026.11.1',
          events: [
            { kind: 'install', outcome: 'installed', from: '2026.11.0', to: '2026.11.1' },
            { kind: 'health', outcome: 'unhealthy' },
            { kind: 'rollback', outcome: 'rolled-back', from: '2026.11.1', to: '2026.11.0' },
          ],
        },
      ],
      // Failed first, installed later: installed.
      [5, { channel: 'stable', running: '2026.11.1', failedTo: '2026.11.1', events: [{ kind: 'install', outcome: 'failed', to: '2026.11.1' }, { kind: 'install', outcome: 'installed', to: '2026.11.1' }] }],
      [60, { channel: 'stable', running: '2026.11.0', events: [{ outcome: 'not-in-rollout' }] }],
      [20, { channel: 'beta', running: '2026.11.2', events: [{}] }],
      [10, { channel: 'beta', running: '2026.11.1', failedTo: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', to: '2026.11.2', exit_code: 1 }] }],
      [30, { channel: 'beta', running: '2026.11.1', events: [{ outcome: 'halted' }] }],
    ]
    const hosts: (Seeded & { id: string })[] = kinds.flatMap(([n, s]) => Array.from({ length: n }, () => ({ ...s, id: uuid() })))
    await postAll(hosts.map((h) => report(h.id, { channel: h.channel, version: h.running, events: h.events })))

    const rollout = { stable: { version: '2026.11.1', percent: 30, halted: false }, beta: { version: '2026.11.2', percent: 50, halted: true } }
    const expected = await Promise.all(
      (['stable', 'beta'] as const).map(async (channel) => {
        const r = rollout[channel]
        const on = hosts.filter((h) => h.channel === channel)
        const counts = { channel, ...r, on_channel: on.length, in_bucket: 0, installed: 0, rolled_back: 0, failed: 0, not_seen: 0, ...NO_DOWNLOADS }
        for (const h of on) {
          const inBucket = (await expectedBucket(h.id, r.version)) < r.percent
          const running = h.running.replace(/^v/, '').replace(/\.0$/, '') === r.version
          if (inBucket) counts.in_bucket++
          if (running) counts.installed++
          else if (h.rolledBackFrom === r.version) counts.rolled_back++
          else if (h.failedTo === r.version) counts.failed++
          else if (inBucket) counts.not_seen++
        }
        return counts
      }),
    )
    // Buckets are spread over hosts, so both sides of each rule are exercised.
    expect(expected[0]!.in_bucket).toBeGreaterThan(0)
    expect(expected[0]!.not_seen).toBeGreaterThan(0)

    const first = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body)
    expect(first.rollouts).toEqual(expected)
    expect(first.hosts).toBe(hosts.length)
    // Asked again (the buckets now recorded in the shards), the same answer.
    const second = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body)
    expect(second.rollouts).toEqual(expected)
    expect(second.by_version).toEqual(first.by_version)

    // The rollout grows: the same hosts stay in, more join; counted again on the recorded buckets.
    expect((await adminPost('/v1/channels/stable/rollout', { percent: 60 })).status).toBe(200)
    const grown = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body).rollouts[0]!
    let inBucket60 = 0
    for (const h of hosts.filter((x) => x.channel === 'stable')) if ((await expectedBucket(h.id, '2026.11.1')) < 60) inBucket60++
    expect(grown).toMatchObject({ percent: 60, in_bucket: inBucket60 })
    expect(grown.in_bucket).toBeGreaterThanOrEqual(expected[0]!.in_bucket)
  })

  it('shows a channel without a release with its hosts and nothing else', async () => {
    await postAll([report(uuid(), { channel: 'stable' }), report(uuid(), { channel: 'beta' })])
    const v = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body)
    expect(v.rollouts).toEqual([
      { channel: 'stable', version: null, percent: 100, halted: false, on_channel: 1, in_bucket: 0, installed: 0, rolled_back: 0, failed: 0, not_seen: 0, ...NO_DOWNLOADS },
      { channel: 'beta', version: null, percent: 100, halted: false, on_channel: 1, in_bucket: 0, installed: 0, rolled_back: 0, failed: 0, not_seen: 0, ...NO_DOWNLOADS },
    ])
  })
})

describe('GET /v1/fleet/hosts', () => {
  /** Every page of a listing, following next_cursor. */
  async function allHosts(query: string, limit: number): Promise<{ hosts: FleetHost[]; pages: number }> {
    const hosts: FleetHost[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await fleetGet(`/v1/fleet/hosts?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const page = FleetServed.FleetHostPage.parse(res.body)
      expect(page.hosts.length).toBeLessThanOrEqual(limit)
      hosts.push(...page.hosts)
      cursor = page.next_cursor
      pages++
    } while (cursor !== null)
    return { hosts, pages }
  }

  it('pages through every shard and returns every host exactly once, in host id order', async () => {
    const ids = Array.from({ length: 300 }, uuid)
    await postAll(ids.map((id, i) => report(id, { channel: i % 3 === 0 ? 'beta' : 'stable' })))
    // Spread over all 16 shards.
    expect(new Set(await Promise.all(ids.map(expectedShard))).size).toBe(16)

    for (const limit of [1, 7, 64, 500]) {
      const { hosts, pages } = await allHosts('', limit)
      expect(hosts.map((h) => h.host_id), `limit ${limit}`).toEqual([...ids].sort())
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(300 / limit))
    }
    const beta = await allHosts('&channel=beta', 9)
    expect(beta.hosts.map((h) => h.host_id)).toEqual(ids.filter((_, i) => i % 3 === 0).sort())
  })

  it('filters by version identity, channel, label, staleness and latest outcome', async () => {
    const a = uuid()
    const b = uuid()
    const c = uuid()
    const d = uuid()
    await postAll([
      report(a, { version: '2026.11.1', labels: { role: 'web', region: 'eu' }, name: 'web-01' }),
      report(b, { version: '2026.11.1.0', labels: { role: 'db' }, events: [{ kind: 'install', outcome: 'failed', to: '2026.11.2', error_class: 'disk.full' }] }),
      report(c, { version: 'v2026.11.1+rebuild', channel: 'beta', labels: { role: 'web' } }),
      report(d, { version: '2026.11.2', check_interval_s: 60, events: [{ kind: 'rollback', outcome: 'rolled-back', from: '2026.11.3', to: '2026.11.2' }] }),
    ])
    // d was last seen three minutes ago with a one-minute interval: stale.
    const seen = Date.now() - 180_000
    await inShard(await expectedShard(d), 'UPDATE hosts SET last_seen = ?, stale_after = ? WHERE host_id = ?', seen, seen + 120_000, d)

    const ids = async (query: string) => (await allHosts(query, 100)).hosts.map((h) => h.host_id).sort()
    expect(await ids('&version=v2026.11.1')).toEqual([a, b, c].sort())
    expect(await ids('&version=2026.11.1&channel=stable')).toEqual([a, b].sort())
    expect(await ids('&label=role=web')).toEqual([a, c].sort())
    expect(await ids('&label=role=web&channel=beta')).toEqual([c])
    expect(await ids('&stale=true')).toEqual([d])
    expect(await ids('&stale=false')).toEqual([a, b, c].sort())
    expect(await ids('&outcome=failed')).toEqual([b])
    expect(await ids('&outcome=rolled-back')).toEqual([d])

    const [hostA] = (await allHosts(`&label=region=eu`, 10)).hosts
    expect(hostA).toMatchObject({ host_id: a, name: 'web-01', labels: { region: 'eu', role: 'web' }, channel: 'stable', platform: 'linux-x86_64', version: '2026.11.1', stale: false, failed_install: null, rolled_back: null })
    const [hostB] = (await allHosts(`&outcome=failed`, 10)).hosts
    expect(hostB).toMatchObject({ failed_install: { version: '2026.11.2' }, last_event: { kind: 'install', outcome: 'failed' } })
    const [hostD] = (await allHosts(`&stale=true`, 10)).hosts
    expect(hostD).toMatchObject({ stale: true, rolled_back: { from: '2026.11.3' } })
    expect(FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body)).toMatchObject({ hosts: 4, stale: 1 })
  })

  it('refuses bad filters, limits and cursors with 422, and every caller without an admin token', async () => {
    const bad = ['limit=0', 'limit=501', 'limit=ten', 'channel=nightly', 'label=role', 'label=Role=web', 'stale=yes', 'outcome=exploded', 'cursor=not-a-cursor', `cursor=${btoa('{"h":"x"}')}`]
    for (const q of bad) {
      const r = await fleetGet(`/v1/fleet/hosts?${q}`)
      expect(r.status, q).toBe(422)
      expect(r.body.error.message, q).toMatch(/^(query\.)?\w+: /)
    }
    for (const path of ['/v1/fleet', '/v1/fleet/hosts', '/v1/fleet/events']) {
      expect((await fleetGet(path, null)).status).toBe(401)
      expect((await fleetGet(path, 'wrong-token')).status).toBe(401)
      expect((await fleetGet(path, TOKENS.alice)).status).toBe(200)
    }
  })
})

describe('GET /v1/fleet/events', () => {
  async function allEvents(query: string, limit: number): Promise<FleetEventView[]> {
    const events: FleetEventView[] = []
    let cursor: string | null = null
    do {
      const res = await fleetGet(`/v1/fleet/events?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const page = FleetServed.FleetEventPage.parse(res.body)
      events.push(...page.events)
      cursor = page.next_cursor
    } while (cursor !== null)
    return events
  }

  const newestFirst = (a: FleetEventView, b: FleetEventView) => Date.parse(b.at) - Date.parse(a.at) || (a.host_id < b.host_id ? 1 : a.host_id > b.host_id ? -1 : a.id < b.id ? 1 : -1)

  it('pages the install history newest first across shards, every event exactly once, with filters', async () => {
    const reports = Array.from({ length: 120 }, (_, i) =>
      report(uuid(), {
        events: [
          { kind: 'install', outcome: i % 4 === 0 ? 'failed' : 'installed', from: '2026.11.0', to: i % 2 === 0 ? '2026.11.1' : '2026.11.2' },
          { kind: 'health', outcome: 'healthy', to: i % 2 === 0 ? '2026.11.1' : '2026.11.2' },
          ...(i % 5 === 0 ? [{ kind: 'rollback' as const, outcome: 'rolled-back' as const, from: '2026.11.1', to: '2026.11.0' }] : []),
        ],
      }),
    )
    // Two events of different hosts at the same millisecond: the order still decides.
    reports[1]!.events[0]!.at = reports[0]!.events[0]!.at
    await postAll(reports)
    const all = reports.flatMap((r) => r.events.map((e) => ({ host_id: r.host_id, id: e.id, at: new Date(e.at).toISOString() })))

    for (const limit of [1, 11, 500]) {
      const got = await allEvents('', limit)
      expect(got.map((e) => e.id).sort(), `limit ${limit}`).toEqual(all.map((e) => e.id).sort())
      expect(got, `limit ${limit}`).toEqual([...got].sort(newestFirst))
    }

    const installsTo1 = await allEvents('&version=2026.11.1&kind=install', 7)
    expect(installsTo1).toHaveLength(60)
    expect(installsTo1.every((e) => e.kind === 'install' && e.to === '2026.11.1')).toBe(true)
    // A version matches where it was left too (rollbacks from it).
    expect(await allEvents('&version=2026.11.1.0', 50)).toHaveLength(60 + 60 + 24)

    const one = reports[3]!
    const mine = await allEvents(`&host=${one.host_id}`, 1)
    expect(mine.map((e) => e.id)).toEqual([...one.events].reverse().map((e) => e.id))
    expect(mine[0]).toMatchObject({ host_id: one.host_id, kind: 'health', outcome: 'healthy', from: null, to: '2026.11.2', error_class: null, exit_code: null })

    const since = all.map((e) => e.at).sort()[200]!
    const recent = await allEvents(`&since=${since}`, 50)
    expect(recent.map((e) => e.id).sort()).toEqual(all.filter((e) => e.at >= since).map((e) => e.id).sort())
  })
})

describe('retention', () => {
  it('forgets events after 30 days and hosts unseen for 90 days when a shard\'s alarm runs', async () => {
    // Three hosts in one shard: fresh, with old events, and long gone.
    const byShard = new Map<number, string[]>()
    while (![...byShard.values()].some((ids) => ids.length >= 3)) {
      const id = uuid()
      const s = await expectedShard(id)
      byShard.set(s, [...(byShard.get(s) ?? []), id])
    }
    const [shard, [fresh, aging, gone]] = [...byShard].find(([, ids]) => ids.length >= 3)! as [number, [string, string, string]]
    await postAll([
      report(fresh, { events: [{}, {}] }),
      report(aging, { events: [{}, { kind: 'install', outcome: 'installed', to: '2026.11.1' }, {}], labels: { role: 'web' } }),
      report(gone, { labels: { role: 'db', tier: 'gold' } }),
    ])
    expect(await shardRows(shard)).toMatchObject({ events: 6, labels: 3 })

    const now = Date.now()
    await inShard(shard, 'UPDATE events SET at = ? WHERE host_id = ? AND kind = ?', now - 31 * DAY, aging, 'check')
    await inShard(shard, 'UPDATE events SET at = ? WHERE host_id = ? AND kind = ?', now - 29 * DAY, aging, 'install')
    await inShard(shard, 'UPDATE hosts SET last_seen = ? WHERE host_id = ?', now - 91 * DAY, gone)
    // A host seen 89 days ago stays.
    await inShard(shard, 'UPDATE hosts SET last_seen = ? WHERE host_id = ?', now - 89 * DAY, aging)

    expect(await runDurableObjectAlarm(shardStub(shard))).toBe(true)
    const after = await shardRows(shard)
    expect(after.hosts).toEqual([fresh, aging].sort())
    expect(after).toMatchObject({ events: 3, labels: 1 })
    const left = await runInDurableObject(shardStub(shard), async (_i, state) => ({
      aging: state.storage.sql.exec<{ kind: string }>('SELECT kind FROM events WHERE host_id = ?', aging).toArray().map((r) => r.kind),
      alarm: await state.storage.getAlarm(),
    }))
    expect(left.aging).toEqual(['install'])
    // The next run is a day later.
    expect(left.alarm! - now).toBeGreaterThan(DAY - 60_000)
  })

  it('keeps at most 200 events per host, dropping old checks first', async () => {
    const host = uuid()
    const shard = await expectedShard(host)
    const batch = (kind: 'check' | 'health', n: number) => report(host, { events: Array.from({ length: n }, () => (kind === 'check' ? {} : { kind, outcome: 'healthy' as const })) })
    for (let i = 0; i < 4; i++) expect((await postReport(batch('check', 50))).status).toBe(202)
    expect((await shardRows(shard)).events).toBe(200)
    // Over the cap: checks beyond the newest 50 go.
    expect((await postReport(batch('health', 50))).status).toBe(202)
    const count = (kind: string) => runInDurableObject(shardStub(shard), (_i, s) => s.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE kind = ?', kind).one().n)
    expect([await count('check'), await count('health')]).toEqual([50, 50])
    for (let i = 0; i < 3; i++) expect((await postReport(batch('health', 50))).status).toBe(202)
    // 50 checks + 200 health events: the oldest 50 (the checks) go.
    expect([await count('check'), await count('health')]).toEqual([0, 200])
  })
})

describe('a change of FLEET_SHARDS', () => {
  it('counts every host once, before and after the hosts report to their new shards', async () => {
    const ids = Array.from({ length: 64 }, uuid)
    await postAll(ids.map((id) => report(id)))
    const call = (path: string, shards: string, init: RequestInit = {}) =>
      createApp().fetch(new Request(`${BROKER}${path}`, { ...init, headers: { authorization: `Bearer ${TOKENS['release-bot']}`, ...init.headers } }), { ...env, FLEET_SHARDS: shards })
    const hostsWith = async (shards: string) => FleetServed.FleetView.parse(await (await call('/v1/fleet', shards)).json()).hosts

    // With 4 shards, only the hosts already in shards 0–3 are where the rule now puts them.
    const inFirstFour = (await Promise.all(ids.map(expectedShard))).filter((s) => s < 4).length
    expect(await hostsWith('4')).toBe(inFirstFour)
    for (const id of ids) {
      const res = await call('/v1/reports', '4', { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKENS['hosts-eu']}` }, body: JSON.stringify(report(id)) })
      expect(res.status).toBe(202)
    }
    // Each host once under either count, although many now have rows in two shards.
    expect(await hostsWith('4')).toBe(64)
    expect(await hostsWith('16')).toBe(64)
    expect((await storedTotals()).hosts).toBe(64 + 64 - inFirstFour)
  })
})
