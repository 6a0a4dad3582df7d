// `cco release fleet`, `… hosts`, `… events` in process against a scripted stand-in for the
// broker's fleet views: what is asked (bearer token, filters, the cursor followed up to the
// limit), the tables and `--json`, escaping of what hosts reported, arguments refused before
// anything is sent, and the exit codes of the broker's refusals.
import { describe, expect, it } from 'vitest'
import { releaseCli, type RecordedRequest } from '../support/release-admin-fake.ts'

const TOKEN = 'cco-test-admin-token-fleet-71b2'
const t = releaseCli('cco-release-fleet-', TOKEN)
const cco = t.cco

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

const view = (over: Record<string, unknown> = {}) => ({
  generated_at: '2026-11-20T10:00:00Z',
  shards: 16,
  hosts: 12,
  stale: 1,
  by_version: [
    { version: '2026.11.2', version_key: '2026.11.2', channel: 'stable', hosts: 2 },
    { version: '2026.11.3', version_key: '2026.11.3', channel: 'stable', hosts: 8 },
    { version: '2026.11.4-beta.1', version_key: '2026.11.4-beta.1', channel: 'beta', hosts: 2 },
  ],
  by_platform: [
    { platform: 'darwin-arm64', hosts: 2 },
    { platform: 'linux-x86_64', hosts: 10 },
  ],
  by_label: [{ key: 'env', value: 'prod', hosts: 8 }],
  by_label_complete: true,
  rollouts: [
    { channel: 'stable', version: '2026.11.3', percent: 50, halted: false, on_channel: 10, in_bucket: 6, installed: 8, rolled_back: 0, failed: 1, not_seen: 1 },
    { channel: 'beta', version: '2026.11.4-beta.1', percent: 100, halted: true, on_channel: 2, in_bucket: 2, installed: 2, rolled_back: 0, failed: 0, not_seen: 0 },
  ],
  ...over,
})

const host = (n: number, over: Record<string, unknown> = {}) => ({
  host_id: id(n),
  name: `web-${n}`,
  labels: { env: 'prod' },
  channel: 'stable',
  platform: 'linux-x86_64',
  version: '2026.11.3',
  check_interval_s: 86400,
  first_seen_at: '2026-11-01T08:00:00Z',
  last_seen_at: '2026-11-20T09:00:00Z',
  stale: false,
  last_event: { kind: 'check', outcome: 'up-to-date', at: '2026-11-20T09:00:00Z' },
  failed_install: null,
  rolled_back: null,
  ...over,
})

const event = (n: number, over: Record<string, unknown> = {}) => ({
  host_id: id(n),
  id: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  at: '2026-11-20T09:00:00Z',
  received_at: '2026-11-20T09:00:01Z',
  kind: 'install',
  outcome: 'installed',
  from: '2026.11.2',
  to: '2026.11.3',
  error_class: null,
  exit_code: null,
  ...over,
})

const params = (q: RecordedRequest) => Object.fromEntries(new URLSearchParams(q.query))

/** Serves `all` hosts in pages of at most `pageSize` (or the asked limit), with a cursor that is the last host id. */
function pagedHosts(all: ReturnType<typeof host>[], pageSize: number) {
  return (q: RecordedRequest) => {
    const p = params(q)
    const start = p.cursor ? all.findIndex((h) => h.host_id === p.cursor) + 1 : 0
    const page = all.slice(start, start + Math.min(pageSize, Number(p.limit ?? 100)))
    const more = start + page.length < all.length
    return { body: { hosts: page, next_cursor: more ? page.at(-1)!.host_id : null } }
  }
}

describe('cco release fleet (the summary)', () => {
  it('shows versions by channel, platforms, rollout progress, labels, stale hosts and mixed versions, with the admin token', async () => {
    t.fake.answer('GET /v1/fleet', { body: view() })
    t.fake.answer('GET /v1/fleet/hosts', { body: { hosts: [host(7, { stale: true, name: null, version: '2026.11.2', last_seen_at: '2026-11-17T09:00:00Z' })], next_cursor: null } })
    const r = await cco(['release', 'fleet'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(
      [
        `Broker: ${t.fake.url}`,
        'Hosts: 12 hosts reporting, 1 stale (not seen within twice their check interval)',
        '',
        'VERSION           CHANNEL  HOSTS',
        '2026.11.4-beta.1  beta     2',
        '2026.11.3         stable   8',
        '2026.11.2         stable   2',
        '',
        'PLATFORM      HOSTS',
        'linux-x86_64  10',
        'darwin-arm64  2',
        '',
        'Rollout progress (hosts reporting on each channel):',
        'CHANNEL  VERSION           ROLLOUT  HALTED  ON CHANNEL  IN BUCKET  INSTALLED  FAILED  ROLLED BACK  NOT YET SEEN',
        'stable   2026.11.3         50%      no      10          6          8          1       0            1',
        'beta     2026.11.4-beta.1  100%     yes     2           2          2          0       0            0',
        '',
        'LABEL     HOSTS',
        'env=prod  8',
        '',
        'Stale hosts:',
        'HOST                                  NAME  VERSION    CHANNEL  LAST SEEN',
        `${id(7)}  -     2026.11.2  stable   2026-11-17 09:00:00 UTC`,
        '',
        '→ stable hosts run 2 versions: 2026.11.3 (8), 2026.11.2 (2); list them with cco release fleet hosts --channel stable --version 2026.11.2',
        '',
      ].join('\n'),
    )
    expect(t.fake.requests.map((q) => `${q.method} ${q.path}${q.query}`).sort()).toEqual(['GET /v1/fleet', 'GET /v1/fleet/hosts?stale=true&limit=10'])
    expect(t.fake.requests.every((q) => q.headers.authorization === `Bearer ${TOKEN}`)).toBe(true)
  })

  it("prints the broker's answer with the stale hosts under --json", async () => {
    t.fake.answer('GET /v1/fleet', { body: view({ future_field: 1 }) })
    t.fake.answer('GET /v1/fleet/hosts', { body: { hosts: [host(7, { stale: true })], next_cursor: null } })
    const r = await cco(['release', 'fleet', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ schema: 1, server: t.fake.url, ...view({ future_field: 1 }), stale_hosts: [host(7, { stale: true })] })
  })

  it('says so when no host has reported yet', async () => {
    t.fake.answer('GET /v1/fleet', { body: view({ hosts: 0, stale: 0, by_version: [], by_platform: [], by_label: [], rollouts: [] }) })
    t.fake.answer('GET /v1/fleet/hosts', { body: { hosts: [], next_cursor: null } })
    const r = await cco(['release', 'fleet'])
    expect(r.stdout).toContain('(no host has reported yet: hosts report once fleet.report = true and a fleet token are set on them)')
  })

  it('escapes what hosts reported, and keeps the columns aligned', async () => {
    t.fake.answer('GET /v1/fleet', {
      body: view({
        by_version: [{ version: '1.0\u001b[2J', version_key: 'x', channel: 'stable', hosts: 1 }],
        by_label: [{ key: 'env', value: 'pr\u202eod', hosts: 1 }],
        rollouts: [],
      }),
    })
    t.fake.answer('GET /v1/fleet/hosts', { body: { hosts: [], next_cursor: null } })
    const r = await cco(['release', 'fleet'])
    expect(r.stdout).not.toMatch(/[\u001b\u202e]/)
    expect(r.stdout).toContain('1.0\\x1b[2J  stable   1')
    expect(r.stdout).toContain('env=pr\\u202eod  1')
  })

  it('needs a token, and says how to give one (exit 2, nothing sent)', async () => {
    const r = await cco(['release', 'fleet'], {})
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('this command needs an admin token: set CCO_ADMIN_TOKEN or pass --token-file FILE')
    expect(t.fake.requests).toEqual([])
  })

  it('maps the broker refusals to exit codes: 401 → 2, a broker without fleet views (404) → 1, nonsense → 3', async () => {
    t.fake.answer('GET /v1/fleet', { status: 401, body: { error: { code: 'unauthorized', message: 'invalid token' } } })
    t.fake.answer('GET /v1/fleet/hosts', { body: { hosts: [], next_cursor: null } })
    let r = await cco(['release', 'fleet'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('the broker refused the admin token (HTTP 401 unauthorized): invalid token; set CCO_ADMIN_TOKEN or pass --token-file FILE')
    t.fake.answer('GET /v1/fleet', { status: 404, body: { error: { code: 'not_found', message: 'no such route' } } })
    r = await cco(['release', 'fleet'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('cannot read the fleet: not found (HTTP 404 not_found): no such route')
    t.fake.answer('GET /v1/fleet', { body: { hosts: 'many' } })
    r = await cco(['release', 'fleet'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/the broker's answer to read the fleet is not what this cco understands at/)
  })
})

describe('cco release fleet hosts', () => {
  const all = Array.from({ length: 7 }, (_, i) => host(i + 1))

  it('follows the cursor over every page (at most 500 a page), passing the filters on each request', async () => {
    t.fake.answer('GET /v1/fleet/hosts', pagedHosts(all, 3))
    const r = await cco(['release', 'fleet', 'hosts', '--version', '2026.11.3', '--channel', 'stable', '--label', 'env=prod', '--stale', '--outcome', 'failed'])
    expect(r.code, r.stderr).toBe(0)
    expect(t.fake.requests.map(params)).toEqual([
      { version: '2026.11.3', channel: 'stable', label: 'env=prod', stale: 'true', outcome: 'failed', limit: '500' },
      { version: '2026.11.3', channel: 'stable', label: 'env=prod', stale: 'true', outcome: 'failed', limit: '500', cursor: id(3) },
      { version: '2026.11.3', channel: 'stable', label: 'env=prod', stale: 'true', outcome: 'failed', limit: '500', cursor: id(6) },
    ])
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toBe('HOST                                  NAME   VERSION    CHANNEL  PLATFORM      LAST SEEN                LAST EVENT        LABELS    PROBLEMS')
    expect(lines.slice(1, -1)).toHaveLength(7)
    expect(lines[1]).toBe(`${id(1)}  web-1  2026.11.3  stable   linux-x86_64  2026-11-20 09:00:00 UTC  check up-to-date  env=prod  -`)
    expect(lines.at(-1)).toBe('(7 hosts)')
  })

  it('stops at --limit and says there are more; --json has exactly those hosts and the cursor to go on from', async () => {
    t.fake.answer('GET /v1/fleet/hosts', pagedHosts(all, 3))
    const r = await cco(['release', 'fleet', 'hosts', '--limit', '5'])
    expect(t.fake.requests.map((q) => params(q).limit)).toEqual(['5', '2'])
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('(first 5 hosts shown; --limit N for more)')
    const j = await cco(['release', 'fleet', 'hosts', '--limit', '5', '--json'])
    expect(JSON.parse(j.stdout)).toEqual({ schema: 1, hosts: all.slice(0, 5), next_cursor: id(5) })
  })

  it("shows a host's failed install, rollback and staleness", async () => {
    t.fake.answer('GET /v1/fleet/hosts', {
      body: {
        hosts: [
          host(1, {
            stale: true,
            last_event: { kind: 'install', outcome: 'failed', at: '2026-11-20T09:00:00Z' },
            failed_install: { version: '2026.11.3', at: '2026-11-20T09:00:00Z' },
            rolled_back: { from: '2026.11.1', at: '2026-11-19T09:00:00Z' },
            labels: {},
            platform: null,
          }),
        ],
        next_cursor: null,
      },
    })
    const r = await cco(['release', 'fleet', 'hosts'])
    expect(r.stdout).toContain(
      `${id(1)}  web-1  2026.11.3  stable   (unknown)  2026-11-20 09:00:00 UTC (stale)  install failed  -       install of 2026.11.3 failed 2026-11-20 09:00:00 UTC; rolled back from 2026.11.1 2026-11-19 09:00:00 UTC`,
    )
  })

  it('stops on a broker that hands back a cursor it gave before', async () => {
    t.fake.answer('GET /v1/fleet/hosts', { body: { hosts: [host(1)], next_cursor: 'same' } })
    const r = await cco(['release', 'fleet', 'hosts'])
    expect(r.code).toBe(0)
    expect(t.fake.requests).toHaveLength(2)
  })

  it.each([
    [['--label', 'Env=prod'], /invalid --label "Env=prod": must be key=value/],
    [['--label', 'env'], /invalid --label "env"/],
    [['--limit', '0'], /invalid --limit "0": a whole number of at least 1/],
    [['--channel', 'nightly'], /argument 'nightly' is invalid\. Allowed choices are stable, beta/],
    [['--outcome', 'exploded'], /argument 'exploded' is invalid/],
  ])('refuses %j before sending anything (exit 2)', async (args, message) => {
    const r = await cco(['release', 'fleet', 'hosts', ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(t.fake.requests).toEqual([])
  })
})

describe('cco release fleet events', () => {
  it('shows events newest first with their error class and exit code, filtered as asked', async () => {
    t.fake.answer('GET /v1/fleet/events', {
      body: {
        events: [
          event(2, { outcome: 'failed', error_class: 'checksum', exit_code: 4, at: '2026-11-20T09:30:00Z' }),
          event(1, { kind: 'rollback', outcome: 'rolled-back', from: '2026.11.3', to: '2026.11.2' }),
          event(3, { kind: 'check', outcome: 'up-to-date', from: null, to: null }),
        ],
        next_cursor: null,
      },
    })
    const r = await cco(['release', 'fleet', 'events', '--host', id(2).toUpperCase(), '--version', '2026.11.3', '--since', '2026-11-19T00:00:00+01:00', '--kind', 'install'])
    expect(r.code, r.stderr).toBe(0)
    expect(params(t.fake.requests[0]!)).toEqual({ host: id(2), version: '2026.11.3', since: '2026-11-18T23:00:00.000Z', kind: 'install', limit: '100' })
    expect(r.stdout).toBe(
      [
        'WHEN                     HOST                                  KIND      OUTCOME      FROM       TO         ERROR',
        `2026-11-20 09:30:00 UTC  ${id(2)}  install   failed       2026.11.2  2026.11.3  checksum (exit 4)`,
        `2026-11-20 09:00:00 UTC  ${id(1)}  rollback  rolled-back  2026.11.3  2026.11.2  -`,
        `2026-11-20 09:00:00 UTC  ${id(3)}  check     up-to-date   -          -          -`,
        '',
      ].join('\n'),
    )
  })

  it('takes --since as a span back from now', async () => {
    t.fake.answer('GET /v1/fleet/events', { body: { events: [], next_cursor: null } })
    const before = Date.now()
    const r = await cco(['release', 'fleet', 'events', '--since', '24h'])
    expect(r.stdout).toBe('(no events)\n')
    const since = Date.parse(params(t.fake.requests[0]!).since!)
    expect(since).toBeGreaterThanOrEqual(before - 86_400_000 - 1000)
    expect(since).toBeLessThanOrEqual(Date.now() - 86_400_000)
  })

  it('follows the cursor up to --limit and keeps unknown fields in --json', async () => {
    t.fake.answer('GET /v1/fleet/events', (q) => {
      const p = params(q)
      const n = p.cursor ? 2 : 1
      return { body: { events: [event(n, { newer_field: 'kept' })], next_cursor: `c${n}` } }
    })
    const r = await cco(['release', 'fleet', 'events', '--limit', '2', '--json'])
    expect(JSON.parse(r.stdout)).toEqual({ schema: 1, events: [event(1, { newer_field: 'kept' }), event(2, { newer_field: 'kept' })], next_cursor: 'c2' })
    expect(t.fake.requests.map((q) => params(q).cursor)).toEqual([undefined, 'c1'])
  })

  it.each([
    [['--host', 'web-1'], /invalid --host "web-1": a host id is a UUID/],
    [['--since', 'yesterday'], /invalid --since "yesterday": an ISO 8601 time with a zone/],
    [['--since', '2026-11-20T10:00:00'], /invalid --since/],
  ])('refuses %j before sending anything (exit 2)', async (args, message) => {
    const r = await cco(['release', 'fleet', 'events', ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(t.fake.requests).toEqual([])
  })
})
