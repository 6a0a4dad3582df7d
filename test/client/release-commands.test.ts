// `cco release …` in process against a scripted stand-in for the broker's admin API: what is
// sent (bearer token, bodies, queries), how answers and refusals are shown, which exit code
// each refusal gets, and that the token never appears in any output.
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { releaseCli } from '../support/release-admin-fake.ts'

const TOKEN = 'cco-test-admin-token-4f9c2a'

const t = releaseCli('cco-release-cli-', TOKEN)
const cco = t.cco

const channel = (over: Record<string, unknown> = {}) => ({
  channel: 'stable',
  version: '2026.11.3',
  seq: 13,
  rollout: { percent: 10, halted: false, reason: null },
  issued_at: '2026-11-26T20:00:00Z',
  expires_at: '2026-12-03T20:00:00Z',
  ...over,
})
const release = (over: Record<string, unknown> = {}) => ({
  version: '2026.11.3',
  tag: 'v2026.11.3',
  status: 'live',
  reason: null,
  prerelease: false,
  published_at: '2026-11-25T14:00:00Z',
  channels: ['beta', 'stable'],
  yanked: null,
  ...over,
})

describe('cco release status', () => {
  beforeEach(() => {
    t.fake.answer('GET /v1/channels', {
      body: {
        channels: [
          channel(),
          channel({ channel: 'beta', version: '2026.11.4', seq: 20, rollout: { percent: 100, halted: true, reason: 'crash loop' } }),
        ],
      },
    })
    t.fake.answer('GET /v1/releases', {
      body: {
        releases: [
          release({ version: '2026.11.4', channels: ['beta'] }),
          release(),
          release({ version: '2026.11.2', channels: [], yanked: { reason: 'crashes on start', at: '2026-11-24T10:00:00Z' } }),
        ],
      },
    })
  })

  it('shows channels and releases as tables, without needing or sending a token', async () => {
    const r = await cco(['release', 'status'], {})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(
      [
        `Broker: ${t.fake.url}`,
        '',
        'CHANNEL  VERSION    SEQ  ROLLOUT  EXPIRES                  HALTED',
        'stable   2026.11.3  13   10%      2026-12-03 20:00:00 UTC  no',
        'beta     2026.11.4  20   100%     2026-12-03 20:00:00 UTC  yes: crash loop',
        '',
        'RELEASE    STATUS  CHANNELS     PUBLISHED                YANKED',
        '2026.11.4  live    beta         2026-11-25 14:00:00 UTC  -',
        '2026.11.3  live    beta,stable  2026-11-25 14:00:00 UTC  -',
        '2026.11.2  live    -            2026-11-25 14:00:00 UTC  yes: crashes on start',
        '',
      ].join('\n'),
    )
    expect(t.fake.requests.map((q) => `${q.method} ${q.path}`).sort()).toEqual(['GET /v1/channels', 'GET /v1/releases'])
    expect(t.fake.requests.every((q) => q.headers.authorization === undefined)).toBe(true)
  })

  it('limits the release table with --releases and says how to see more', async () => {
    const r = await cco(['release', 'status', '--releases', '1'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('2026.11.4  live')
    expect(r.stdout).not.toContain('2026.11.2')
    expect(r.stdout).toContain('(1 of 3 releases shown; --releases N for more, --json for all)')
  })

  it("prints the broker's answers with --json", async () => {
    const r = await cco(['release', 'status', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout) as { server: string; channels: unknown[]; releases: { tag: string }[] }
    expect(j.server).toBe(t.fake.url)
    expect(j.channels).toHaveLength(2)
    // Fields the client does not show are kept.
    expect(j.releases[0]?.tag).toBe('v2026.11.3')
  })

  it('uses --server over updates.server, and refuses plain http to another host (exit 2)', async () => {
    t.home.writeConfig({ server: 'http://127.0.0.1:1' })
    expect((await cco(['release', 'status', '--server', t.fake.url])).code).toBe(0)
    const bad = await cco(['release', 'status', '--server', 'http://broker.example.com'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('plain http:// is only allowed to loopback hosts')
  })

  it('goes through network.proxy like every other request', async () => {
    // The "proxy" is the stand-in itself: it receives absolute-URI requests for a broker
    // that does not exist and answers them.
    t.home.writeConfig({ server: 'http://127.0.0.1:9', extra: `[network]\nproxy = "${t.fake.url}"\n` })
    const r = await cco(['release', 'status'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Broker: http://127.0.0.1:9')
  })

  it('reports an unreachable broker as a network error (exit 3)', async () => {
    const r = await cco(['release', 'status', '--server', 'http://127.0.0.1:9'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:9')
  })

  it('refuses an answer that is not a broker listing (exit 3)', async () => {
    t.fake.answer('GET /v1/channels', { body: '<html>login</html>', contentType: 'text/html' })
    const r = await cco(['release', 'status'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("the broker's answer to list the channels is not JSON")
  })
})

describe('changes: what is sent and shown', () => {
  it('promotes with the bearer token, version, percent and force', async () => {
    t.fake.answer('POST /v1/channels/stable/promote', { body: { ...channel(), changed: true } })
    const r = await cco(['release', 'promote', 'v2026.11.3', '--percent', '10%', '--force'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('✅ Promoted 2026.11.3 to stable at 10%\n→ stable: 2026.11.3, rollout 10%, not halted, seq 13\n')
    const q = t.fake.requests[0]!
    expect(q.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(q.headers['content-type']).toBe('application/json')
    expect(q.headers['user-agent']).toMatch(/^cco\//)
    expect(JSON.parse(q.body)).toEqual({ version: '2026.11.3', percent: 10, force: true })
  })

  it('says when a change changed nothing', async () => {
    t.fake.answer('POST /v1/channels/beta/rollout', { body: { ...channel({ channel: 'beta', percent: 50, rollout: { percent: 50, halted: false } }), changed: false } })
    const r = await cco(['release', 'rollout', '50', '--channel', 'beta'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('→ Nothing changed: the rollout on beta is already 50%\n→ beta: 2026.11.3, rollout 50%, not halted, seq 13\n')
    expect(JSON.parse(t.fake.requests[0]!.body)).toEqual({ percent: 50 })
  })

  it('halts with a reason and resumes (stable by default)', async () => {
    t.fake.answer('POST /v1/channels/stable/halt', { body: { ...channel({ rollout: { percent: 10, halted: true, reason: 'crash loop' }, seq: 14 }), changed: true } })
    t.fake.answer('POST /v1/channels/stable/resume', { body: { ...channel({ seq: 15 }), changed: true } })
    const halt = await cco(['release', 'halt', '--reason', 'crash loop'])
    expect(halt.code).toBe(0)
    expect(halt.stdout).toContain('✅ Halted the rollout of 2026.11.3 on stable')
    expect(halt.stdout).toContain('→ stable: 2026.11.3, rollout 10%, halted (crash loop), seq 14')
    expect(JSON.parse(t.fake.requests[0]!.body)).toEqual({ reason: 'crash loop' })
    const resume = await cco(['release', 'resume'])
    expect(resume.stdout).toContain('✅ Resumed the rollout of 2026.11.3 on stable at 10%')
    expect(JSON.parse(t.fake.requests[1]!.body)).toEqual({})
  })

  it('yanks and unyanks, listing the channels re-signed', async () => {
    t.fake.answer('POST /v1/releases/2026.11.3/yank', {
      body: { release: release({ channels: [], yanked: { reason: 'data loss', at: '2026-11-26T21:00:00Z' } }), channels: { stable: 14, beta: 21 } },
    })
    t.fake.answer('POST /v1/releases/2026.11.3/unyank', { body: { release: release({ channels: ['beta'] }), channels: { beta: 22, stable: 15 } } })
    const yank = await cco(['release', 'yank', '2026.11.3', '--reason', 'data loss'])
    expect(yank.code, yank.stderr).toBe(0)
    expect(yank.stdout).toBe(
      [
        '✅ Yanked 2026.11.3: data loss',
        "→ Hosts running 2026.11.3 move to their channel's version on their next check, even if it is lower",
        '→ Re-signed: beta (seq 21), stable (seq 14)',
        '→ 2026.11.3 is now on: no channel',
        '',
      ].join('\n'),
    )
    const unyank = await cco(['release', 'unyank', '2026.11.3'])
    expect(unyank.stdout).toContain('✅ Unyanked 2026.11.3\n')
    expect(unyank.stdout).toContain('→ 2026.11.3 is now on: beta')
  })

  it('pages the audit log with -n and --before', async () => {
    t.fake.answer('GET /v1/audit', {
      body: {
        entries: [
          { id: 42, at: '2026-11-26T20:00:00Z', actor: 'token:ci', action: 'channel.promoted', target: 'stable', delivery: null, detail: { version: '2026.11.3', percent: 10, force: true } },
          { id: 41, at: '2026-11-26T19:00:00Z', actor: 'webhook', action: 'release.published', target: '2026.11.3', delivery: 'd-1', detail: {} },
        ],
        next_before: 41,
      },
    })
    const r = await cco(['release', 'audit', '-n', '2', '--before', '43'])
    expect(r.code, r.stderr).toBe(0)
    expect(t.fake.requests[0]!.query).toBe('?before=43&limit=2')
    expect(t.fake.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`)
    expect(r.stdout).toBe(
      [
        'ID  WHEN                     ACTOR     ACTION             TARGET     DETAIL',
        '42  2026-11-26 20:00:00 UTC  token:ci  channel.promoted   stable     version=2026.11.3 percent=10 force=true',
        '41  2026-11-26 19:00:00 UTC  webhook   release.published  2026.11.3  delivery=d-1',
        '(older entries: cco release audit --before 41)',
        '',
      ].join('\n'),
    )
  })

  it("prints the broker's answer as is with --json, beside the document's schema number", async () => {
    const answer = { ...channel(), changed: true, extra_field: 'kept' }
    t.fake.answer('POST /v1/channels/stable/rollout', { body: answer })
    const r = await cco(['release', 'rollout', '10', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ schema: 1, ...answer })
  })
})

describe('the admin token', () => {
  beforeEach(() => t.fake.answer('POST /v1/channels/stable/resume', { body: { ...channel(), changed: false } }))

  it('is required for changes: without one nothing is sent (exit 2)', async () => {
    const r = await cco(['release', 'resume'], {})
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('this command needs an admin token: set CCO_ADMIN_TOKEN or pass --token-file FILE\n')
    expect(t.fake.requests).toHaveLength(0)
  })

  it('is read from the first line of --token-file, which wins over CCO_ADMIN_TOKEN', async () => {
    const file = join(t.home.home, 'token')
    writeFileSync(file, `${TOKEN}\nsecond line ignored\n`, { mode: 0o600 })
    const r = await cco(['release', 'resume', '--token-file', file], { CCO_ADMIN_TOKEN: 'other-token' })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(t.fake.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`)
  })

  it('warns when the token file is readable by others, and still uses it', async () => {
    const file = join(t.home.home, 'token')
    writeFileSync(file, `${TOKEN}\n`)
    chmodSync(file, 0o644)
    const r = await cco(['release', 'resume', '--token-file', file], {})
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(`warning: token file ${file} is readable by other users (mode 0644); restrict it with: chmod 600 ${file}`)
  })

  it('refuses an empty or unreadable token file (exit 2)', async () => {
    const empty = join(t.home.home, 'empty')
    writeFileSync(empty, '\n', { mode: 0o600 })
    expect((await cco(['release', 'resume', '--token-file', empty])).stderr).toContain('is empty')
    const missing = await cco(['release', 'resume', '--token-file', join(t.home.home, 'nope')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('cannot read --token-file')
    expect(t.fake.requests).toHaveLength(0)
  })

  it('refuses a token that cannot be sent in a header, without showing it', async () => {
    const r = await cco(['release', 'resume'], { CCO_ADMIN_TOKEN: `${TOKEN} x` })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('contains spaces or characters that cannot be sent in a header')
  })
})

describe('bad arguments are refused before anything is sent (exit 2)', () => {
  it.each([
    [['release', 'promote', 'latest'], 'not a version: "latest"'],
    [['release', 'promote', '2026.11.3', '--percent', '101'], 'invalid percent "101": a whole number from 0 to 100'],
    [['release', 'rollout', '1.5'], 'invalid percent "1.5"'],
    [['release', 'rollout', '-1'], ''],
    [['release', 'halt', '--reason', '  '], 'invalid --reason: a reason is required'],
    [['release', 'yank', '2026.11.3', '--reason', ''], 'invalid --reason: a reason is required'],
    [['release', 'yank', '2026.11.3'], "required option '--reason <text>' not specified"],
    [['release', 'rollout', '10', '--channel', 'nightly'], 'Allowed choices are stable, beta'],
    [['release', 'audit', '-n', '0'], 'invalid -n "0"'],
  ])('%j', async (args, message) => {
    const r = await cco(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(message)
    expect(t.fake.requests).toHaveLength(0)
  })
})

describe("refusals show the broker's message with an exit code by kind", () => {
  const refuse = (status: number, code: string, message: string) =>
    t.fake.answer('POST /v1/channels/stable/promote', { status, body: { error: { code, message } } })

  it.each([
    [401, 'unauthorized', 'missing or invalid bearer token', 2, 'the broker refused the admin token (HTTP 401 unauthorized): missing or invalid bearer token; set CCO_ADMIN_TOKEN or pass --token-file FILE'],
    [403, 'forbidden', 'repository other/repo is not allowed', 2, 'the broker does not allow this identity to promote 2026.11.3 to stable (HTTP 403 forbidden): repository other/repo is not allowed'],
    [404, 'not_found', 'release "2026.11.3" not found', 1, 'cannot promote 2026.11.3 to stable: not found (HTTP 404 not_found): release "2026.11.3" not found'],
    [409, 'conflict', '2026.11.3 is not on beta (its status is refused)', 1, 'the broker refused to promote 2026.11.3 to stable (HTTP 409 conflict): 2026.11.3 is not on beta (its status is refused)'],
    [422, 'invalid_request', 'percent: percent must be 0–100', 2, 'invalid request to promote 2026.11.3 to stable (HTTP 422 invalid_request): percent: percent must be 0–100'],
    [500, 'internal', 'storage unavailable', 3, 'the broker failed to promote 2026.11.3 to stable (HTTP 500 internal): storage unavailable'],
  ])('HTTP %i → exit %#', async (status, code, message, exit, shown) => {
    refuse(status, code, message)
    const r = await cco(['release', 'promote', '2026.11.3'])
    expect(r.code).toBe(exit)
    expect(r.stderr).toBe(`${shown}\n`)
  })

  it('shows the start of a body that is not an error object', async () => {
    t.fake.answer('POST /v1/channels/stable/promote', { status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html' })
    const r = await cco(['release', 'promote', '2026.11.3'])
    expect(r.code).toBe(3)
    expect(r.stderr).toBe('the broker failed to promote 2026.11.3 to stable (HTTP 502): <html>Bad gateway</html>\n')
  })

  it('prints the refusal as JSON with --json', async () => {
    refuse(409, 'conflict', 'already yanked')
    const r = await cco(['release', 'promote', '2026.11.3', '--json'])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout)).toEqual({ schema: 1, error: { message: expect.stringContaining('already yanked'), exit_code: 1 } })
  })
})
