// POST /v1/reports through the real Worker: a report lands in the shard its host id hashes to
// and shows up in GET /v1/fleet with exact counts; retries are deduplicated by event id; every
// refusal (token, product, size, JSON, schema, rate) is answered with its status and stores
// nothing, which each test checks in the shards' own storage.
import { reset } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorBodySchema } from '../../contract/api.ts'
import { FleetServed } from '../../contract/fleet.ts'
import { createApp } from '../../worker/app.ts'
import { FLEET_TOKENS, expectedShard, fleetGet, inShard, postReport, report, shardRows, storedTotals, uuid } from './fleet-helpers.ts'
import { BROKER, TOKENS, adminPost, digestOf } from './helpers.ts'

afterEach(async () => {
  await reset()
})

const NOTHING = { hosts: 0, events: 0, labels: 0 }

describe('accepted reports', () => {
  it('stores a report in the shard its host id hashes to and answers 202 with the events it took', async () => {
    const host = uuid()
    const r = await postReport(report(host, { labels: { role: 'web', region: 'eu-1' }, events: [{}, { kind: 'install', outcome: 'installed', from: '2026.11.0', to: '2026.11.1' }, { kind: 'health', outcome: 'healthy' }] }))
    expect(r.status).toBe(202)
    expect(FleetServed.ReportAccepted.parse(r.body)).toEqual({ accepted: 3, duplicates: 0 })
    const shard = await expectedShard(host)
    expect(await shardRows(shard)).toEqual({ hosts: [host], events: 3, labels: 2 })
    expect(await storedTotals()).toEqual({ hosts: 1, events: 3, labels: 2 })
  })

  it('counts reported hosts in GET /v1/fleet by version × channel, platform and label', async () => {
    const reports = [
      report(uuid(), { version: '2026.11.1', labels: { role: 'web' } }),
      report(uuid(), { version: '2026.11.1', labels: { role: 'web', tier: 'gold' } }),
      // Another spelling of the same version is the same version.
      report(uuid(), { version: '2026.11.1.0', platform: 'darwin-arm64', labels: { role: 'db' } }),
      report(uuid(), { version: '2026.11.2', channel: 'beta', platform: 'darwin-arm64' }),
      report(uuid(), { version: '2026.11.2', channel: 'stable', platform: null }),
    ]
    for (const r of reports) expect((await postReport(r)).status).toBe(202)

    const view = await fleetGet('/v1/fleet')
    expect(view.status).toBe(200)
    const v = FleetServed.FleetView.parse(view.body)
    expect(v).toMatchObject({ shards: 16, hosts: 5, stale: 0, by_label_complete: true })
    expect(v.by_version).toEqual([
      { version: '2026.11.2', version_key: '2026.11.2', channel: 'beta', hosts: 1 },
      { version: '2026.11.2', version_key: '2026.11.2', channel: 'stable', hosts: 1 },
      { version: '2026.11.1', version_key: '2026.11.1', channel: 'stable', hosts: 3 },
    ])
    expect(v.by_platform).toEqual([
      { platform: 'darwin-arm64', hosts: 2 },
      { platform: 'linux-x86_64', hosts: 2 },
      { platform: null, hosts: 1 },
    ])
    expect(v.by_label).toEqual([
      { key: 'role', value: 'web', hosts: 2 },
      { key: 'role', value: 'db', hosts: 1 },
      { key: 'tier', value: 'gold', hosts: 1 },
    ])
  })

  it('takes a retried report once: its events are duplicates and nothing is counted twice', async () => {
    const host = uuid()
    const first = report(host, { events: [{}, { kind: 'install', outcome: 'failed', to: '2026.11.2', error_class: 'download.checksum', exit_code: 3 }] })
    expect((await postReport(first)).body).toEqual({ accepted: 2, duplicates: 0 })
    expect((await postReport(first)).body).toEqual({ accepted: 0, duplicates: 2 })
    // A later report that carries one old event again and one new one.
    const later = report(host, { events: [{}] })
    later.events.unshift(first.events[1]!)
    expect((await postReport(later)).body).toEqual({ accepted: 1, duplicates: 1 })
    expect(await storedTotals()).toEqual({ hosts: 1, events: 3, labels: 0 })
    expect(FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body).hosts).toBe(1)
  })

  it('keeps the newer state when an older report arrives after it (a late retry)', async () => {
    const host = uuid()
    const older = report(host, { version: '2026.11.1' })
    const newer = report(host, { version: '2026.11.2', events: [{ kind: 'install', outcome: 'installed', from: '2026.11.1', to: '2026.11.2' }] })
    expect((await postReport(newer)).status).toBe(202)
    expect((await postReport(older)).status).toBe(202)
    const page = FleetServed.FleetHostPage.parse((await fleetGet('/v1/fleet/hosts')).body)
    expect(page.hosts).toHaveLength(1)
    expect(page.hosts[0]).toMatchObject({ host_id: host, version: '2026.11.2', last_event: { kind: 'install', outcome: 'installed' } })
  })
})

describe('refusals store nothing', () => {
  async function expectRefused(r: Promise<{ status: number; body: any }>, status: number, code: string, message?: RegExp) {
    const answer = await r
    expect(answer.status, JSON.stringify(answer.body)).toBe(status)
    const body = ErrorBodySchema.parse(answer.body)
    expect(body.error.code).toBe(code)
    if (message) expect(body.error.message).toMatch(message)
    expect(await storedTotals()).toEqual(NOTHING)
  }

  it('refuses a missing, forged or admin token with 401', async () => {
    const body = report(uuid())
    await expectRefused(postReport(body, { token: null }), 401, 'unauthorized', /missing bearer token/)
    await expectRefused(postReport(body, { token: 'test-fleet-token-hosts-eu-5c1e9c' }), 401, 'unauthorized', /invalid fleet token/)
    await expectRefused(postReport(body, { token: TOKENS['release-bot'] }), 401, 'unauthorized', /invalid fleet token/)
    await expectRefused(postReport(body, { headers: { authorization: `Basic ${FLEET_TOKENS['hosts-eu']}` } }), 401, 'unauthorized')
  })

  it('accepts every listed fleet token, and refuses them on the admin API', async () => {
    expect((await postReport(report(uuid()), { token: FLEET_TOKENS['hosts-us'] })).status).toBe(202)
    for (const token of Object.values(FLEET_TOKENS)) {
      expect((await fleetGet('/v1/fleet', token)).status).toBe(401)
      expect((await fleetGet('/v1/fleet/hosts', token)).status).toBe(401)
      expect((await fleetGet('/v1/fleet/events', token)).status).toBe(401)
      expect((await adminPost('/v1/channels/stable/rollout', { percent: 5 }, token)).status).toBe(401)
    }
  })

  it('refuses a report for another product with 422', async () => {
    await expectRefused(postReport(report(uuid(), { product: 'other' })), 422, 'invalid_request', /^product: this broker serves cco, not other$/)
  })

  it('refuses a body over 16 KiB with 413, declared or not', async () => {
    const big = JSON.stringify({ ...report(uuid()), pad: 'x'.repeat(16 * 1024) })
    await expectRefused(postReport(big), 413, 'payload_too_large')
    // Without Content-Length: the bytes are counted as they arrive.
    const stream = () => new Blob([big]).stream()
    const res = await createApp().fetch(
      new Request(`${BROKER}/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKENS['hosts-eu']}` }, body: stream(), duplex: 'half' } as RequestInit),
      env,
    )
    await expectRefused(Promise.resolve({ status: res.status, body: await res.json() }), 413, 'payload_too_large')
  })

  it('refuses malformed JSON with 400', async () => {
    for (const body of ['', '{', '{"schema":1,}', 'null x', '\u00ff']) await expectRefused(postReport(body), 400, 'malformed_json')
    const invalidUtf8 = await createApp().fetch(
      new Request(`${BROKER}/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKENS['hosts-eu']}` }, body: new Uint8Array([0x7b, 0xff, 0x7d]) }),
      env,
    )
    await expectRefused(Promise.resolve({ status: invalidUtf8.status, body: await invalidUtf8.json() }), 400, 'malformed_json')
  })

  const host = '3f2a0c4e-1b7d-4c9a-9e21-5a8f0d6b7c11'
  const event = (e: Record<string, unknown>) => ({ ...report(host), events: [{ ...report(host).events[0], ...e }] })
  const cases: [string, unknown, RegExp][] = [
    ['an unknown field', { ...report(host), ip: '192.0.2.1' }, /^body: unknown field ip$/],
    ['an unknown event field', event({ hostname: 'web01' }), /^events\.0: unknown field hostname$/],
    ['a control character in the name', report(host, { name: 'web\n01' }), /^name: must be 1–64 of/],
    ['a path as the name', report(host, { name: '/home/alice' }), /^name: /],
    ['a name over 64 characters', report(host, { name: 'a'.repeat(65) }), /^name: /],
    ['a BEL in a label value', report(host, { labels: { role: 'web\u0007' } }), /^labels\.role: a label value must be printable/],
    ['a line break in a label value', report(host, { labels: { role: 'web\r\nX-Injected: 1' } }), /^labels\.role: a label value must be printable/],
    ['a bidi override in a label value', report(host, { labels: { role: 'bew\u202e' } }), /^labels\.role: a label value must be printable/],
    ['an unpaired surrogate in a label value', report(host, { labels: { role: 'web\ud800' } }), /^labels\.role: a label value must be printable/],
    ['a DEL in a label value', report(host, { labels: { role: 'web\u007f' } }), /^labels\.role: a label value must be printable/],
    ['a label value over 64 characters', report(host, { labels: { role: 'w'.repeat(65) } }), /^labels\.role: a label value is 1–64 characters/],
    ['an upper-case label key', report(host, { labels: { Role: 'web' } }), /^labels\.Role: a label key is 1–32 of/],
    ['a control character in a label key', report(host, { labels: { 'ro\tle': 'web' } }), /^labels\.ro\tle: a label key/],
    ['17 labels', report(host, { labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }), /^labels: at most 16 labels$/],
    ['no host id', { ...report(host), host_id: undefined }, /^host_id: required$/],
    ['an upper-case host id', report(host.toUpperCase()), /^host_id: must be the host id/],
    ['a hostname as the host id', report('web01.example.com'), /^host_id: must be the host id/],
    ['schema 3', { ...report(host), schema: 3 }, /^schema: must be 1 or 2$/],
    ['an unknown channel', { ...report(host), channel: 'nightly' }, /^channel: must be one of stable, beta$/],
    ['an unknown platform', { ...report(host), platform: 'linux-mips' }, /^platform: must be one of/],
    ['a check interval under 60 s', report(host, { check_interval_s: 59 }), /^check_interval_s: must be at least 60$/],
    ['a fractional check interval', report(host, { check_interval_s: 90.5 }), /^check_interval_s: must be an integer$/],
    ['a version with a space', report(host, { version: '2026.11.1 (dev)' }), /^version: must be the running version/],
    ['no events', { ...report(host), events: [] }, /^events: a report has at least one event$/],
    ['51 events', report(host, { events: Array.from({ length: 51 }, () => ({})) }), /^events: a report has at most 50 events$/],
    ['an event time without a zone', event({ at: '2026-11-20T10:00:00' }), /^events\.0\.at: must be an ISO 8601 time/],
    ['an outcome of another kind', event({ kind: 'check', outcome: 'installed' }), /^events\.0\.outcome: the outcome of check events is one of/],
    ['an install without its target', event({ kind: 'install', outcome: 'failed' }), /^events\.0\.to: required for an install event$/],
    ['a rollback without the version it left', event({ kind: 'rollback', outcome: 'rolled-back' }), /^events\.0\.from: required for a rollback event$/],
    ['an event id that is no UUID', event({ id: 'retry-1' }), /^events\.0\.id: must be a random event id/],
    ['an upper-case error class', event({ kind: 'install', outcome: 'failed', to: '2026.11.2', error_class: 'Disk Full' }), /^events\.0\.error_class: /],
    ['a fractional exit code', event({ kind: 'install', outcome: 'failed', to: '2026.11.2', exit_code: 1.5 }), /^events\.0\.exit_code: must be an integer$/],
    ['a body that is not an object', [report(host)], /^body: must be a JSON object$/],
  ]

  it.each(cases)('refuses %s with 422 naming the field', async (_what, body, message) => {
    await expectRefused(postReport(body), 422, 'invalid_request', message)
  })

  it('answers 404 reports_disabled when no fleet token is configured', async () => {
    const res = await createApp().fetch(
      new Request(`${BROKER}/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKENS['hosts-eu']}` }, body: JSON.stringify(report(uuid())) }),
      { ...env, FLEET_TOKEN_HASHES: '' },
    )
    await expectRefused(Promise.resolve({ status: res.status, body: await res.json() }), 404, 'reports_disabled', /FLEET_TOKEN_HASHES is not set/)
  })

  it('refuses to run with a token listed as both an admin and a fleet token', async () => {
    const shared = `shared:${await digestOf(TOKENS.alice)}`
    const res = await createApp().fetch(
      new Request(`${BROKER}/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}` }, body: JSON.stringify(report(uuid())) }),
      { ...env, FLEET_TOKEN_HASHES: shared },
    )
    const body = await res.json()
    await expectRefused(Promise.resolve({ status: res.status, body }), 500, 'misconfigured', /"shared" is also an admin token/)
    expect(JSON.stringify(body)).not.toContain(TOKENS.alice)
  })

  it('names a bad FLEET_SHARDS or FLEET_TOKEN_HASHES without echoing a secret', async () => {
    const call = (vars: Record<string, string>) =>
      createApp().fetch(
        new Request(`${BROKER}/v1/reports`, { method: 'POST', headers: { authorization: `Bearer ${FLEET_TOKENS['hosts-eu']}` }, body: JSON.stringify(report(uuid())) }),
        { ...env, ...vars },
      )
    for (const shards of ['0', '-1', '1.5', 'many', '100000']) {
      const res = await call({ FLEET_SHARDS: shards })
      await expectRefused(Promise.resolve({ status: res.status, body: await res.json() }), 500, 'misconfigured', /^var FLEET_SHARDS must be a whole number from 1 to 1024/)
    }
    const res = await call({ FLEET_TOKEN_HASHES: 'hosts:not-a-hash-secretvalue' })
    const body = await res.json()
    await expectRefused(Promise.resolve({ status: res.status, body }), 500, 'misconfigured', /^secret FLEET_TOKEN_HASHES: entry 1 is not name:sha256hex/)
    expect(JSON.stringify(body)).not.toContain('secretvalue')
  })
})

describe('the rate of one host id', () => {
  it('accepts 20 reports in 10 minutes, then answers 429 with Retry-After and stores nothing more', async () => {
    const host = uuid()
    const shard = await expectedShard(host)
    const statuses: number[] = []
    let last: Awaited<ReturnType<typeof postReport>> | undefined
    for (let i = 0; i < 25; i++) {
      last = await postReport(report(host))
      statuses.push(last.status)
    }
    expect(statuses).toEqual([...Array(20).fill(202), ...Array(5).fill(429)])
    expect(ErrorBodySchema.parse(last!.body).error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining(host) })
    const retryAfter = Number(last!.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(590)
    expect(retryAfter).toBeLessThanOrEqual(600)
    expect(await shardRows(shard)).toEqual({ hosts: [host], events: 20, labels: 0 })

    // Another host is not held back by this one.
    expect((await postReport(report(uuid()))).status).toBe(202)

    // Once the window has passed (the accepted reports made ten minutes older), it is let in again.
    await inShard(shard, 'UPDATE hosts SET recent_reports = (SELECT json_group_array(value - 600000) FROM json_each(recent_reports)) WHERE host_id = ?', host)
    expect((await postReport(report(host))).status).toBe(202)
    // 20 + 1 of this host, 1 of the other (which may share its shard).
    expect((await storedTotals()).events).toBe(22)
  })

  it('holds to the limit under a concurrent flood', async () => {
    const host = uuid()
    const answers = await Promise.all(Array.from({ length: 60 }, () => postReport(report(host))))
    expect(answers.filter((a) => a.status === 202)).toHaveLength(20)
    expect(answers.filter((a) => a.status === 429)).toHaveLength(40)
    expect(await storedTotals()).toEqual({ hosts: 1, events: 20, labels: 0 })
  })
})
