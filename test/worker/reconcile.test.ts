// Reconciliation: the scheduled run lists the repository's releases through GitHub's REST API
// (a fake at GITHUB_API_URL) and applies what webhooks missed, once; a 304 writes nothing, and
// an error or an unexpected body leaves the state as it was.
import { createScheduledController, reset, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker from '../../worker/index.ts'
import { releasePayload, type ReleasePayloadOptions } from '../../support/github.ts'
import { archives, auditLog, fakeNetwork, getManifest, publish, stateSnapshot, stub, type FakeRoute } from './helpers.ts'

const LIST_URL = 'https://api.github.test/repos/cco-dev/cco/releases?per_page=100'

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

async function runCron() {
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: '*/30 * * * *' }), env)
}

/** A release as GitHub's API lists it (the webhook payload's `release` has the same shape). */
async function apiRelease(version: string, o: Partial<ReleasePayloadOptions> = {}) {
  return releasePayload({ action: 'published', tag: `v${version}`, assets: await archives(version), ...o }).release as Record<string, unknown>
}

/** GitHub's list endpoint: 304 when If-None-Match carries the current ETag. */
function githubApi(list: () => unknown[], o: { etag?: string; link?: string } = {}): FakeRoute {
  return (req) => {
    const etag = o.etag ?? '"list-v1"'
    if (req.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } })
    const headers: Record<string, string> = { etag, 'content-type': 'application/json' }
    if (o.link) headers.link = o.link
    return new Response(JSON.stringify(list()), { headers })
  }
}

async function storedEtag(): Promise<string | null> {
  return runInDurableObject(stub(), (_instance, state) => {
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'reconcile_etag'").toArray()[0]
    return row ? (JSON.parse(row.value) as { etag: string }).etag : null
  })
}

describe('reconciliation', () => {
  it('publishes a release that webhooks missed, leaves the known one alone, and records both runs', async () => {
    await publish('2026.11.1')
    const list = [await apiRelease('2026.11.2'), await apiRelease('2026.11.1')]
    const net = fakeNetwork({ [LIST_URL]: githubApi(() => list) })
    const beta = await getManifest('beta')

    await runCron()
    const req = net.requests.find((r) => r.url === LIST_URL)!
    expect(Object.fromEntries(['accept', 'x-github-api-version', 'authorization', 'if-none-match'].map((h) => [h, req.headers.get(h)]))).toEqual({
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      authorization: 'Bearer test-github-token',
      'if-none-match': null,
    })
    expect(req.headers.get('user-agent')).toMatch(/cco-release-broker/)

    const after = await getManifest('beta')
    expect(after.payload.release?.version).toBe('2026.11.2')
    expect(after.payload.seq).toBe(beta.payload.seq + 1)
    const audit = await auditLog()
    const reconciled = audit.filter((e) => e.actor === 'reconcile')
    expect(reconciled.map((e) => [e.action, e.target])).toEqual([
      ['reconcile.applied', '2026.11.2'],
      ['release.published', '2026.11.2'],
      ['manifest.signed', 'beta'],
    ])
    expect(reconciled[0]!.detail).toEqual({ github_id: list[0]!.id, step: 'apply' })
    expect(audit.some((e) => e.target === '2026.11.1' && e.action === 'release.updated')).toBe(false)
    expect(await storedEtag()).toBe('"list-v1"')

    // Second run: conditional, answered 304, nothing written.
    const before = await stateSnapshot()
    await runCron()
    const second = net.requests.filter((r) => r.url === LIST_URL)
    expect(second).toHaveLength(2)
    expect(second[1]!.headers.get('if-none-match')).toBe('"list-v1"')
    expect(await stateSnapshot()).toEqual(before)
  })

  it('applies a list once even when GitHub ignores If-None-Match', async () => {
    const list = [await apiRelease('2026.11.1')]
    let etag = 0
    fakeNetwork({ [LIST_URL]: () => new Response(JSON.stringify(list), { headers: { etag: `"${++etag}"` } }) })
    await runCron()
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
    const before = await stateSnapshot()
    await runCron()
    expect(await stateSnapshot()).toEqual(before)
  })

  it('applies an edit that webhooks missed', async () => {
    await publish('2026.11.1', { body: 'first notes' })
    const list = [await apiRelease('2026.11.1', { body: 'corrected notes' })]
    fakeNetwork({ [LIST_URL]: githubApi(() => list) })
    await runCron()
    expect((await getManifest('beta')).payload.release?.notes).toBe('corrected notes')
    expect((await auditLog()).filter((e) => e.actor === 'reconcile').map((e) => e.action)).toEqual(['reconcile.applied', 'release.updated', 'manifest.signed'])
  })

  it('withdraws a live release GitHub no longer lists, but only from the complete list', async () => {
    await publish('2026.11.1')
    await publish('2026.11.2')
    const list = [await apiRelease('2026.11.1')]

    fakeNetwork({ [LIST_URL]: githubApi(() => list, { link: `<${LIST_URL}&page=2>; rel="next", <${LIST_URL}&page=2>; rel="last"` }) })
    await runCron()
    expect((await stub().getRelease('2026.11.2'))?.status).toBe('live')

    vi.restoreAllMocks()
    fakeNetwork({ [LIST_URL]: githubApi(() => list, { etag: '"list-v2"' }) })
    await runCron()
    expect(await stub().getRelease('2026.11.2')).toMatchObject({ status: 'withdrawn', reason: 'no longer listed by the GitHub API' })
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
    expect((await auditLog()).find((e) => e.action === 'reconcile.applied')).toMatchObject({ target: '2026.11.2', detail: { step: 'withdraw (missing)' } })
  })

  it('withdraws a live release that was turned back into a draft', async () => {
    await publish('2026.11.1')
    await publish('2026.11.2')
    const list = [await apiRelease('2026.11.2', { draft: true }), await apiRelease('2026.11.1')]
    fakeNetwork({ [LIST_URL]: githubApi(() => list) })
    await runCron()
    expect(await stub().getRelease('2026.11.2')).toMatchObject({ status: 'withdrawn', reason: 'unpublished on GitHub' })
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
  })

  it('does not undo a webhook that lands while the list is on its way, and looks again next time', async () => {
    await publish('2026.11.1', { body: 'old notes' })
    const stale = [await apiRelease('2026.11.1', { body: 'old notes' }), await apiRelease('2026.11.2')]
    fakeNetwork({
      [LIST_URL]: async () => {
        // GitHub answers with the list as it was before this edit reached the broker.
        await publish('2026.11.1', { action: 'edited', body: 'new notes' })
        return Response.json(stale, { headers: { etag: '"stale"' } })
      },
    })
    await runCron()
    const beta = (await getManifest('beta')).payload
    expect((await stub().getRelease('2026.11.1'))?.notes).toBe('new notes')
    expect(beta.release?.version).toBe('2026.11.2') // the release nobody touched meanwhile is applied
    expect(await storedEtag()).toBeNull()
  })

  it('leaves the state untouched on an API error, an unexpected body or a network failure, and catches up later', async () => {
    await publish('2026.11.1')
    const good = [await apiRelease('2026.11.2'), await apiRelease('2026.11.1')]
    const broken = [{ ...good[0], id: 'not-a-number' }, good[1]]
    const answers: [string, FakeRoute][] = [
      ['HTTP 500', () => new Response('oops', { status: 500 })],
      ['rate limited', () => new Response('{"message":"API rate limit exceeded"}', { status: 403 })],
      ['not JSON', () => new Response('<html>', { headers: { etag: '"x"' } })],
      ['an invalid element', () => Response.json(broken, { headers: { etag: '"x"' } })],
      ['an object instead of a list', () => Response.json({ message: 'Moved' }, { headers: { etag: '"x"' } })],
      ['a network failure', () => Promise.reject(new TypeError('connection reset'))],
    ]
    const before = await stateSnapshot()
    for (const [what, answer] of answers) {
      vi.restoreAllMocks()
      vi.spyOn(console, 'error').mockImplementation(() => undefined)
      fakeNetwork({ [LIST_URL]: answer })
      await runCron()
      expect(await stateSnapshot(), what).toEqual(before)
      expect(await storedEtag(), what).toBeNull()
    }

    vi.restoreAllMocks()
    fakeNetwork({ [LIST_URL]: githubApi(() => good) })
    await runCron()
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.2')
  })

  it('logs a failure with the URL and the status, never the token', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    fakeNetwork({ [LIST_URL]: () => new Response('no', { status: 401 }) })
    await runCron()
    const logged = errors.mock.calls.map((c) => c.join(' ')).join('\n')
    expect(logged).toContain(`GET ${LIST_URL}: HTTP 401`)
    expect(logged).not.toContain('test-github-token')
  })
})
