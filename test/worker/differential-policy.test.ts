// The lifecycle of differential assets as plain data (worker/policy/release-lifecycle.ts): the
// one fetch job waits for the checksums file, then the block maps, names the file whose
// download failed, and a finished mirror copy names the block maps and packs it stopped
// advertising. No Durable Object, no network.
import { describe, expect, it } from 'vitest'
import { parseAssetHosts } from '../../worker/config.ts'
import { firstControlChar } from '../../worker/policy/control-chars.ts'
import { checkBlockMap } from '../../worker/policy/delta-assets.ts'
import { GithubReleaseSchema } from '../../worker/policy/github-release.ts'
import { onGithubRelease, onJobResult, type Job, type ReleaseRow } from '../../worker/policy/release-lifecycle.ts'
import { releasePayload, type FixtureAsset } from '../../support/github.ts'
import { buildDelta, deltaAssets, sampleBinary, sha256 } from './delta-fixtures.ts'
import { archive } from './helpers.ts'

const NOW = Date.parse('2026-12-01T12:00:00Z')
const V = '2026.12.1'
const hosts = parseAssetHosts('github.com')
const ctx = { now: NOW, action: 'published' as const, assetHosts: hosts, mirror: false }

function release(assets: FixtureAsset[]) {
  return GithubReleaseSchema.parse(releasePayload({ action: 'published', tag: `v${V}`, releaseId: 2001, assets }).release)
}
const fetchJob = (row: ReleaseRow): Job => ({ kind: 'fetch', version: row.version, source_rev: row.source_rev, fetch_url: row.fetch!.url })

describe('the fetch job of a release with differential assets', () => {
  it('waits for the block map, then records the binary it states', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { blockmap, pack } = await deltaAssets(V, d)
    const queued = onGithubRelease({ byId: null, byVersion: null }, release([await archive(V, 'linux-x86_64'), blockmap, pack]), ctx)
    expect(queued).toMatchObject({ outcome: 'queued', rows: [{ status: 'pending', fetch: { name: d.names.blockmap, url: blockmap.url, attempts: 0 } }] })
    expect(queued.audit[0]).toMatchObject({ action: 'release.queued', detail: { blockmaps: [d.names.blockmap] } })

    const row = queued.rows[0]!
    const done = onJobResult(row, fetchJob(row), { ok: true, blockmaps: { [d.names.blockmap]: { bytes: d.mapBytes, sha256: await sha256(d.mapBytes) } } }, ctx)!
    expect(done.rows[0]).toMatchObject({ status: 'live', fetch: null })
    expect(done.rows[0]!.assets['linux-x86_64']!.delta).toEqual({
      blockmap: { name: d.names.blockmap, size: d.mapBytes.length, sha256: await sha256(d.mapBytes), source_url: blockmap.url },
      pack: { name: d.names.pack, size: d.pack.length, sha256: await sha256(d.pack), source_url: pack.url },
      binary: { size: d.binary.length, sha256: await sha256(d.binary) },
    })
  })

  it('waits for the file whose download failed, and gives up at once on a failure another attempt cannot change', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { blockmap, pack } = await deltaAssets(V, d, { digest: { pack: false } })
    const sums = { name: 'checksums.txt', url: `https://github.com/cco-dev/cco/releases/download/v${V}/checksums.txt`, size: 200 }
    const row = onGithubRelease({ byId: null, byVersion: null }, release([await archive(V, 'linux-x86_64'), blockmap, pack, sums]), ctx).rows[0]!
    expect(row.fetch).toMatchObject({ name: 'checksums.txt', url: sums.url })

    const failed = onJobResult(row, fetchJob(row), { ok: false, error: 'HTTP 503', retry: true, file: { kind: 'blockmap', name: d.names.blockmap, url: blockmap.url } }, ctx)!
    expect(failed.rows[0]).toMatchObject({ status: 'pending', fetch: { name: d.names.blockmap, url: blockmap.url, attempts: 1, error: 'HTTP 503' } })
    expect(failed.audit).toEqual([expect.objectContaining({ action: 'blockmap.fetch_failed', detail: expect.objectContaining({ blockmap: d.names.blockmap, attempt: 1 }) })])

    const next = failed.rows[0]!
    const refused = onJobResult(next, fetchJob(next), { ok: false, error: 'redirect target is on evil.example, which is not in ASSET_HOSTS', retry: false, file: { kind: 'blockmap', name: d.names.blockmap, url: blockmap.url } }, ctx)!
    expect(refused.rows[0]).toMatchObject({ status: 'refused', fetch: null, reason: `block map "${d.names.blockmap}" could not be fetched: redirect target is on evil.example, which is not in ASSET_HOSTS` })
  })
})

describe('an edit while the block map is being fetched', () => {
  it('drops the answer fetched for the replaced block map and records the binary of the new one', async () => {
    const first = await buildDelta(V, 'linux-x86_64', sampleBinary(1))
    const second = await buildDelta(V, 'linux-x86_64', sampleBinary(2))
    const linux = await archive(V, 'linux-x86_64')
    const one = await deltaAssets(V, first)
    const two = await deltaAssets(V, second)
    const queued = onGithubRelease({ byId: null, byVersion: null }, release([linux, one.blockmap, one.pack]), ctx).rows[0]!
    const job = fetchJob(queued)
    // The edit (the block map and pack replaced under the same names) lands while the job is on the network.
    const edited = onGithubRelease({ byId: queued, byVersion: queued }, release([linux, two.blockmap, two.pack]), { ...ctx, action: 'edited' }).rows[0]!
    expect(edited).toMatchObject({ status: 'pending', source_rev: queued.source_rev + 1 })
    const answer = { ok: true as const, blockmaps: { [first.names.blockmap]: { bytes: first.mapBytes, sha256: await sha256(first.mapBytes) } } }
    expect(onJobResult(edited, job, answer, ctx)).toBeNull()
    // Even as the new job's answer, the old bytes do not pass for the new block map.
    expect(onJobResult(edited, fetchJob(edited), answer, ctx)!.rows[0]).toMatchObject({ status: 'refused', reason: expect.stringMatching(/sha256 mismatch/) })

    const done = onJobResult(edited, fetchJob(edited), { ok: true, blockmaps: { [second.names.blockmap]: { bytes: second.mapBytes, sha256: await sha256(second.mapBytes) } } }, ctx)!
    expect(done.rows[0]!.assets['linux-x86_64']!.delta!.binary).toEqual({ size: second.binary.length, sha256: await sha256(second.binary) })
  })
})

describe('a block map that does not match its release', () => {
  it('is refused with a reason that carries none of the file\'s control characters', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    // U+009B is a one-byte CSI; JSON.stringify leaves it (and DEL, U+2028) as it is.
    const bytes = new TextEncoder().encode(JSON.stringify({ ...d.map, pack: { ...d.map.pack, name: 'x\u009b31m\u007f\u2028.chunks' } }))
    const checked = checkBlockMap({ bytes, sha256: await sha256(bytes) }, { name: d.names.blockmap, sha256: await sha256(bytes), version: V, platforms: ['linux-x86_64'], pack: { name: d.names.pack, size: d.pack.length, sha256: await sha256(d.pack) } })
    expect(checked.ok).toBe(false)
    const problem = checked.ok ? '' : checked.problem
    expect(firstControlChar(problem)).toBeNull()
    expect(problem).toBe(`block map "${d.names.blockmap}" names the pack "x\\u009b31m\\u007f\\u2028.chunks", not "${d.names.pack}"`)
  })
})

describe('a finished mirror copy', () => {
  it('names the block map and pack of the live release that the new content replaced, not the archive it kept', async () => {
    const first = await buildDelta(V, 'linux-x86_64', sampleBinary(1))
    const second = await buildDelta(V, 'linux-x86_64', sampleBinary(2))
    const linux = await archive(V, 'linux-x86_64')
    const liveOf = async (d: typeof first) => {
      const { blockmap, pack } = await deltaAssets(V, d)
      const row = onGithubRelease({ byId: null, byVersion: null }, release([linux, blockmap, pack]), ctx).rows[0]!
      return onJobResult(row, fetchJob(row), { ok: true, blockmaps: { [d.names.blockmap]: { bytes: d.mapBytes, sha256: await sha256(d.mapBytes) } } }, ctx)!.rows[0]!
    }
    const live = { ...(await liveOf(first)), live_since: '2026-11-30T00:00:00Z' }
    const { assets: newAssets } = await liveOf(second)
    const content = { version: live.version, tag: live.tag, prerelease: live.prerelease, published_at: live.published_at, notes: live.notes, notes_url: live.notes_url, assets: newAssets }
    const row: ReleaseRow = { ...live, mirror: { content, attempts: 0, nextAt: NOW, error: null } }
    const job: Job = { kind: 'mirror', version: row.version, source_rev: row.source_rev, mirror_content: JSON.stringify(content) }
    const change = onJobResult(row, job, { ok: true }, { ...ctx, mirror: true })!
    expect(change.rows[0]).toMatchObject({ status: 'live', mirror: null, live_since: '2026-11-30T00:00:00Z' })
    const old = live.assets['linux-x86_64']!.delta!
    expect(change.unadvertised).toEqual([old.blockmap, old.pack])
  })
})
