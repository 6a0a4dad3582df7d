// The real Worker serves exactly what the contract says: every answer of the informational reads
// and of the admin API parses with the contract's `Served` schema (strict objects: every field
// the contract lists, of its type, and no other), in each of its forms (null and set, first and
// last page, changed and unchanged, every kind of refusal).
import { reset } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { Served } from '../../contract/api.ts'
import { BROKER, TOKENS, archive, backdateLive, publish, sendRelease } from './helpers.ts'

afterEach(async () => {
  await reset()
})

interface Call {
  method?: 'GET' | 'POST'
  body?: unknown
  /** Defaults to the release-bot token; null sends none. */
  token?: string | null
}

async function call(path: string, o: Call = {}): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = {}
  const token = o.token === undefined ? TOKENS['release-bot'] : o.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (o.body !== undefined) headers['content-type'] = 'application/json'
  const res = await exports.default.fetch(`${BROKER}${path}`, { method: o.method ?? 'GET', headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) })
  return { status: res.status, json: await res.json() }
}

/** The problems the schema finds in the answer: none when the Worker serves what the contract says. */
function problems(schema: { safeParse(v: unknown): { error?: { issues: readonly { path: PropertyKey[]; message: string; code?: string }[] } } }, json: unknown) {
  return (schema.safeParse(json).error?.issues ?? []).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.code ?? ''} ${i.message}`)
}

/** A release in each state the listings show: live and yanked, refused, pending its checksums file. */
async function releasesInEveryState() {
  await publish('2026.11.1')
  await publish('2026.11.2')
  await backdateLive('2026.11.1', 25)
  expect((await call('/v1/releases/2026.11.2/yank', { method: 'POST', body: { reason: 'corrupts the config' } })).status).toBe(200)
  const refused = await sendRelease({ action: 'published', tag: 'v2026.11.3', assets: [await archive('2026.11.3', 'linux-x86_64', { digest: false })] })
  expect(refused.body.status).toBe('refused')
  const checksums = { name: 'checksums.txt', url: 'https://github.com/cco-dev/cco/releases/download/v2026.11.4/checksums.txt', size: 200 }
  const pending = await sendRelease({ action: 'published', tag: 'v2026.11.4', assets: [await archive('2026.11.4', 'linux-x86_64', { digest: false }), checksums] })
  expect(pending.body.status).toBe('queued')
}

describe('the informational reads', () => {
  it('GET /v1/channels, before any release and with releases', async () => {
    const empty = await call('/v1/channels', { token: null })
    expect(empty.status).toBe(200)
    expect(problems(Served.ChannelList, empty.json)).toEqual([])

    await publish('2026.11.1')
    const listed = await call('/v1/channels', { token: null })
    expect(problems(Served.ChannelList, listed.json)).toEqual([])
    expect(listed.json).toMatchObject({ channels: [{ channel: 'stable', version: null }, { channel: 'beta', version: '2026.11.1' }] })
  })

  it('GET /v1/releases and GET /v1/releases/{version}, for releases live, yanked, refused and pending', async () => {
    await releasesInEveryState()
    const list = await call('/v1/releases', { token: null })
    expect(list.status).toBe(200)
    expect(problems(Served.ReleaseList, list.json)).toEqual([])
    const releases = (list.json as { releases: { version: string; status: string; yanked: unknown; pending: unknown }[] }).releases
    expect(releases.map((r) => [r.version, r.status, r.yanked !== null, r.pending !== null])).toEqual(
      expect.arrayContaining([
        ['2026.11.1', 'live', false, false],
        ['2026.11.2', 'live', true, false],
        ['2026.11.3', 'refused', false, false],
        ['2026.11.4', 'pending', false, true],
      ]),
    )

    for (const version of ['2026.11.1', '2026.11.2', '2026.11.3', '2026.11.4']) {
      const detail = await call(`/v1/releases/${version}`, { token: null })
      expect(detail.status, version).toBe(200)
      expect(problems(Served.ReleaseDetail, detail.json), version).toEqual([])
    }
  })

  it('the list view has no notes and the detail view has them: the two are different answers', async () => {
    await publish('2026.11.1')
    const [listed] = ((await call('/v1/releases', { token: null })).json as { releases: unknown[] }).releases
    const detail = (await call('/v1/releases/2026.11.1', { token: null })).json
    expect(problems(Served.ReleaseView, detail)).toEqual(['(root): unrecognized_keys Invalid input'])
    expect(problems(Served.ReleaseDetail, listed)).toEqual(['notes: invalid_type Invalid input'])
  })
})

describe('the admin API', () => {
  it('promote, rollout, halt and resume answer a ChannelChange, changed or not', async () => {
    await publish('2026.11.1')
    await backdateLive('2026.11.1', 25)
    const steps: [string, unknown][] = [
      ['promote', { version: '2026.11.1', percent: 10 }],
      ['rollout', { percent: 50 }],
      ['halt', { reason: 'crash reports' }],
      ['resume', undefined],
    ]
    for (const [action, body] of steps) {
      for (const changed of [true, false]) {
        const r = await call(`/v1/channels/stable/${action}`, { method: 'POST', body })
        expect(r.status, action).toBe(200)
        expect(problems(Served.ChannelChange, r.json), action).toEqual([])
        expect(r.json, action).toMatchObject({ changed })
      }
    }
  })

  it('yank and unyank answer a ReleaseChange', async () => {
    await publish('2026.11.1')
    await publish('2026.11.2')
    for (const [action, body] of [['yank', { reason: 'data loss' }], ['unyank', undefined]] as const) {
      const r = await call(`/v1/releases/2026.11.2/${action}`, { method: 'POST', body })
      expect(r.status, action).toBe(200)
      expect(problems(Served.ReleaseChange, r.json), action).toEqual([])
    }
  })

  it('GET /v1/audit answers an AuditPage, on a page with more to come and on the last one', async () => {
    await publish('2026.11.1')
    await backdateLive('2026.11.1', 25)
    await call('/v1/channels/stable/promote', { method: 'POST', body: { version: '2026.11.1' } })
    const first = await call('/v1/audit?limit=1')
    expect(problems(Served.AuditPage, first.json)).toEqual([])
    const all = await call('/v1/audit?limit=1000')
    expect(problems(Served.AuditPage, all.json)).toEqual([])
    expect(first.json).toMatchObject({ next_before: expect.any(Number) })
    expect(all.json).toMatchObject({ next_before: null, entries: expect.arrayContaining([expect.objectContaining({ delivery: expect.any(String) }), expect.objectContaining({ delivery: null })]) })
  })

  it('every refusal answers an ErrorBody', async () => {
    await publish('2026.11.1')
    const refusals: [string, Call, number][] = [
      ['/v1/audit', { token: null }, 401],
      ['/v1/channels/nightly/rollout', { method: 'POST', body: { percent: 5 } }, 404],
      ['/v1/releases/2026.9.9', { token: null }, 404],
      ['/v1/channels/beta/promote', { method: 'POST', body: { version: '2026.11.1' } }, 409],
      ['/v1/channels/stable/rollout', { method: 'POST', body: { percent: 101 } }, 422],
      ['/v1/audit?limit=0', {}, 422],
      ['/v1/nothing-here', { token: null }, 404],
    ]
    for (const [path, o, status] of refusals) {
      const r = await call(path, o)
      expect(r.status, path).toBe(status)
      expect(problems(Served.ErrorBody, r.json), path).toEqual([])
    }
  })
})
