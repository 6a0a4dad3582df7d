// The release lifecycle rules as plain data (worker/policy/release-lifecycle.ts): what a GitHub
// release event and a finished alarm job do to the recorded rows, without a Durable Object.
import { describe, expect, it } from 'vitest'
import { parseAssetHosts } from '../../worker/config.ts'
import { GithubReleaseSchema, type ReleaseAction } from '../../worker/policy/github-release.ts'
import {
  CHECKSUMS_MAX_ATTEMPTS,
  nextAttempt,
  onGithubRelease,
  onJobResult,
  type Job,
  type ReleaseEventContext,
  type ReleaseRow,
} from '../../worker/policy/release-lifecycle.ts'
import { releasePayload, type FixtureAsset } from '../../support/github.ts'
import { archives } from './helpers.ts'

const NOW = Date.parse('2026-11-20T12:00:00Z')
const ctx = (o: Partial<ReleaseEventContext> = {}): ReleaseEventContext => ({ now: NOW, action: 'published', assetHosts: parseAssetHosts('github.com'), mirror: false, ...o })

function release(tag: string, o: { id?: number; action?: ReleaseAction; assets?: FixtureAsset[]; body?: string } = {}) {
  const payload = releasePayload({ action: o.action ?? 'published', tag, releaseId: o.id ?? 1001, assets: o.assets ?? [], ...(o.body ? { body: o.body } : {}) })
  return GithubReleaseSchema.parse(payload.release)
}

/** The row a first `published` delivery of this tag records (live, unless `mirror`). */
async function liveRow(tag: string, id = 1001): Promise<ReleaseRow> {
  const change = onGithubRelease({ byId: null, byVersion: null }, release(tag, { id, assets: await archives(tag.replace(/^v/, '')) }), ctx())
  expect(change.outcome).toBe('published')
  return { ...change.rows[0]!, live_since: '2026-11-01T00:00:00Z' }
}

describe('onGithubRelease', () => {
  it('publishes a new release as one live row under its version text', async () => {
    const change = onGithubRelease({ byId: null, byVersion: null }, release('v2026.11.1', { assets: await archives('2026.11.1') }), ctx())
    expect(change).toMatchObject({ outcome: 'published', version: '2026.11.1', rows: [{ version: '2026.11.1', status: 'live', github_id: 1001, live_since: null }] })
    expect(change.audit.map((a) => a.action)).toEqual(['release.published'])
  })

  it('waits for the mirror copy when the mirror is on', async () => {
    const change = onGithubRelease({ byId: null, byVersion: null }, release('v2026.11.1', { assets: await archives('2026.11.1') }), ctx({ mirror: true }))
    expect(change).toMatchObject({ outcome: 'queued', rows: [{ status: 'mirroring', mirror: { attempts: 0, nextAt: NOW } }] })
  })

  it('ignores the withdrawal of a release it never saw, and anything after a deletion', async () => {
    const rel = release('v2026.11.1', { action: 'deleted' })
    expect(onGithubRelease({ byId: null, byVersion: null }, rel, ctx({ action: 'deleted' }))).toMatchObject({ outcome: 'ignored', reason: 'release is not known to the broker', rows: [] })
    const deleted = { ...(await liveRow('v2026.11.1')), status: 'withdrawn' as const, reason: 'deleted on GitHub' }
    expect(onGithubRelease({ byId: deleted, byVersion: deleted }, release('v2026.11.1'), ctx({ action: 'edited' }))).toMatchObject({ outcome: 'ignored', reason: 'release was deleted on GitHub', rows: [] })
  })

  it('withdraws on deleted, unpublished, or the reason reconciliation gives', async () => {
    const row = await liveRow('v2026.11.1')
    expect(onGithubRelease({ byId: row, byVersion: row }, release('v2026.11.1', { action: 'unpublished' }), ctx({ action: 'unpublished' }))).toMatchObject({
      outcome: 'withdrawn',
      rows: [{ status: 'withdrawn', reason: 'unpublished on GitHub', source_rev: row.source_rev + 1 }],
    })
    expect(onGithubRelease({ byId: row, byVersion: row }, release('v2026.11.1'), ctx({ action: 'reconcile', withdrawReason: 'gone' })).rows[0]).toMatchObject({ status: 'withdrawn', reason: 'gone' })
  })

  it('withdraws the old version when the tag changes to another version, not to another spelling', async () => {
    const row = await liveRow('v2026.11.1')
    const moved = onGithubRelease({ byId: row, byVersion: null }, release('v2026.11.2', { assets: await archives('2026.11.2') }), ctx({ action: 'edited' }))
    expect(moved.rows.map((r) => [r.version, r.status, r.reason])).toEqual([
      ['2026.11.1', 'withdrawn', 'tag changed to v2026.11.2'],
      ['2026.11.2', 'live', null],
    ])
    const respelled = onGithubRelease({ byId: row, byVersion: row }, release('v2026.11.1.0+b', { assets: await archives('2026.11.1') }), ctx({ action: 'edited' }))
    expect(respelled.rows.map((r) => [r.version, r.status, r.tag, r.live_since])).toEqual([['2026.11.1', 'live', 'v2026.11.1.0+b', row.live_since]])
  })

  it('refuses a version another GitHub release holds, writing no row of it', async () => {
    const row = await liveRow('v2026.11.1', 1001)
    const change = onGithubRelease({ byId: null, byVersion: row }, release('2026.011.1', { id: 2002, assets: await archives('2026.11.1') }), ctx())
    expect(change).toMatchObject({ outcome: 'refused', reason: 'version 2026.011.1 already belongs to GitHub release 1001 (as 2026.11.1, which is the same version)', rows: [] })
  })

  it('takes over a version whose holder was deleted: same spelling, soak restarted', async () => {
    const deleted = { ...(await liveRow('v2026.11.1', 1001)), status: 'withdrawn' as const, reason: 'deleted on GitHub' }
    const change = onGithubRelease({ byId: null, byVersion: deleted }, release('v2026.11.1+r2', { id: 2002, assets: await archives('2026.11.1') }), ctx())
    expect(change.rows).toEqual([expect.objectContaining({ version: '2026.11.1', github_id: 2002, status: 'live', live_since: null })])
    expect(change.audit.map((a) => a.action)).toEqual(['release.published', 'release.soak_restarted'])
  })

  it('keeps a live release serving when its update is refused', async () => {
    const row = await liveRow('v2026.11.1')
    const change = onGithubRelease({ byId: row, byVersion: row }, release('v2026.11.1', { action: 'edited', assets: [] }), ctx({ action: 'edited' }))
    expect(change).toMatchObject({ outcome: 'refused', rows: [{ status: 'live', assets: row.assets, live_since: row.live_since, reason: expect.stringMatching(/no uploaded asset/) }] })
  })
})

describe('onJobResult', () => {
  async function pendingRow(): Promise<ReleaseRow> {
    const assets = (await archives('2026.11.1')).map(({ digest: _, ...a }) => a)
    const checksums = { name: 'checksums.txt', url: 'https://github.com/cco-dev/cco/releases/download/v2026.11.1/checksums.txt', size: 100 }
    const change = onGithubRelease({ byId: null, byVersion: null }, release('v2026.11.1', { assets: [...assets, checksums] }), ctx())
    expect(change.outcome).toBe('queued')
    return change.rows[0]!
  }
  const job = (row: ReleaseRow): Job => ({ kind: 'fetch', version: row.version, source_rev: row.source_rev, fetch_url: row.fetch!.url })
  const jobCtx = { now: NOW, assetHosts: parseAssetHosts('github.com'), mirror: false }

  it('ignores an answer that a later delivery made stale', async () => {
    const row = await pendingRow()
    expect(onJobResult({ ...row, source_rev: row.source_rev + 1 }, job(row), { ok: false, error: 'HTTP 503', retry: true }, jobCtx)).toBeNull()
    expect(onJobResult(null, job(row), { ok: true, checksums: { name: 'checksums.txt', text: '' } }, jobCtx)).toBeNull()
  })

  it('retries a failed checksums fetch on the backoff schedule, then refuses with the reason', async () => {
    let row = await pendingRow()
    for (let attempt = 1; attempt < CHECKSUMS_MAX_ATTEMPTS; attempt++) {
      const change = onJobResult(row, job(row), { ok: false, error: 'HTTP 503', retry: true }, jobCtx)!
      row = change.rows[0]!
      expect(row.fetch).toMatchObject({ attempts: attempt, nextAt: NOW + 15_000 * 2 ** (attempt - 1), error: 'HTTP 503' })
      expect(change.audit[0]).toMatchObject({ action: 'checksums.fetch_failed', detail: { attempt } })
    }
    const last = onJobResult(row, job(row), { ok: false, error: 'HTTP 503', retry: true }, jobCtx)!
    expect(last.rows[0]).toMatchObject({ status: 'refused', fetch: null, reason: `checksums file "checksums.txt" could not be fetched after ${CHECKSUMS_MAX_ATTEMPTS} attempts: HTTP 503` })
    const final = onJobResult(await pendingRow(), job(await pendingRow()), { ok: false, error: 'not on ASSET_HOSTS', retry: false }, jobCtx)!
    expect(final.rows[0]!.reason).toBe('checksums file "checksums.txt" could not be fetched: not on ASSET_HOSTS')
  })

  it('names the archives a finished mirror copy stopped advertising', async () => {
    const live = await liveRow('v2026.11.1')
    const replaced = { ...live.assets['linux-x86_64']!, sha256: 'b'.repeat(64) }
    const content = { ...live, assets: { ...live.assets, 'linux-x86_64': replaced } }
    const { github_id: _g, status: _s, reason: _r, first_seen_at: _f, updated_at: _u, was_on_stable: _w, source: _src, source_rev: _sr, fetch: _fe, mirror: _m, live_since: _l, ...releaseContent } = content
    const row: ReleaseRow = { ...live, mirror: { content: releaseContent, attempts: 0, nextAt: NOW, error: null } }
    const mirrorJob: Job = { kind: 'mirror', version: row.version, source_rev: row.source_rev, mirror_content: JSON.stringify(row.mirror!.content) }
    const change = onJobResult(row, mirrorJob, { ok: true }, { ...jobCtx, mirror: true })!
    expect(change.rows[0]).toMatchObject({ status: 'live', mirror: null, assets: { 'linux-x86_64': { sha256: 'b'.repeat(64) } }, live_since: null })
    expect(change.unadvertised).toEqual([live.assets['linux-x86_64']])
    expect(change.audit.map((a) => a.action)).toEqual(['release.updated', 'release.soak_restarted'])
  })
})

describe('nextAttempt', () => {
  it('doubles from 15 s and gives up at the limit', () => {
    expect([1, 2, 3, 4, 5].map((n) => (nextAttempt(n, 0, 6) as { at: number }).at)).toEqual([15_000, 30_000, 60_000, 120_000, 240_000])
    expect(nextAttempt(6, 0, 6)).toEqual({ kind: 'give-up' })
  })
})
