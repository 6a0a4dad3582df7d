// What a release delivery does: refusals with their recorded reasons, and how the channels
// (and their seq) follow publish, edit, prerelease, withdrawal and out-of-order arrival.
import { reset } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { NOTES_MAX_BYTES, utf8Length } from '../../contract/manifest.ts'
import { BROKER, archive, archives, auditLog, digestOf, getManifest, publish, sendRelease, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

async function channel(name: 'stable' | 'beta') {
  return (await stub().channelStates()).find((c) => c.channel === name)!
}

describe('refused releases are recorded and not published', () => {
  async function expectRefused(version: string, r: { status: number; body: Record<string, any> }, reason: RegExp) {
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ status: 'refused', reason: expect.stringMatching(reason) })
    const stored = await stub().getRelease(version)
    expect(stored).toMatchObject({ status: 'refused', reason: expect.stringMatching(reason), channels: [] })
    expect((await channel('beta')).version).toBeNull()
    expect((await getManifest('beta')).payload.release).toBeNull()
    const refusal = (await auditLog()).find((e) => e.action === 'release.refused')
    expect(refusal).toMatchObject({ target: version, detail: { reason: expect.stringMatching(reason) } })
  }

  it('a tag that is not a version', async () => {
    const r = await sendRelease({ action: 'published', tag: 'nightly-build', assets: await archives('2026.11.1') })
    await expectRefused('nightly-build', r, /^tag "nightly-build" is not a version/)
  })

  it('an asset without any digest and no checksums file', async () => {
    const assets = [await archive('2026.11.1', 'linux-x86_64'), await archive('2026.11.1', 'darwin-arm64', { digest: false })]
    const r = await sendRelease({ action: 'published', tag: 'v2026.11.1', assets })
    await expectRefused('2026.11.1', r, /asset "cco-2026.11.1-darwin-arm64.tar.gz" has no sha256 digest and the release has no checksums file/)
  })

  it('an asset on a host that ASSET_HOSTS does not list, or over plain http', async () => {
    const assets = [await archive('2026.11.1', 'linux-x86_64', { host: 'downloads.example.com' })]
    const r = await sendRelease({ action: 'published', tag: 'v2026.11.1', assets })
    await expectRefused('2026.11.1', r, /download URL is on downloads.example.com, which is not in ASSET_HOSTS/)

    const plain = await archive('2026.11.2', 'linux-x86_64')
    const r2 = await sendRelease({ action: 'published', tag: 'v2026.11.2', assets: [{ ...plain, url: plain.url.replace('https:', 'http:') }] })
    expect(r2.body.reason).toMatch(/uses http, not https/)
  })

  it('a release with no archive for any platform', async () => {
    const r = await sendRelease({
      action: 'published',
      tag: 'v2026.11.1',
      assets: [{ name: 'sbom.spdx.json', url: 'https://github.com/cco-dev/cco/releases/download/v2026.11.1/sbom.spdx.json', size: 10, digest: `sha256:${'c'.repeat(64)}` }],
    })
    await expectRefused('2026.11.1', r, /no uploaded asset maps to a platform/)
  })

  it('a second GitHub release claiming a version that is live', async () => {
    await publish('2026.11.1', { releaseId: 1001 })
    const r = await sendRelease({ action: 'published', tag: '2026.11.1', releaseId: 2002, assets: await archives('2026.11.1') })
    expect(r.body).toMatchObject({ status: 'refused', reason: 'version 2026.11.1 already belongs to GitHub release 1001' })
    expect((await stub().getRelease('2026.11.1'))?.github_id).toBe(1001)
  })
})

describe('what gets published', () => {
  it('offers only uploaded platform archives, preferring the canonical name, and records the choice', async () => {
    const V = '2026.11.1'
    const assets = [
      await archive(V, 'linux-x86_64', { name: `cco-${V}-linux-amd64.tar.gz` }),
      await archive(V, 'linux-x86_64'),
      { ...(await archive(V, 'darwin-arm64')), state: 'starter' },
      await archive(V, 'windows-x86_64'),
      { name: 'checksums.txt', url: `https://github.com/cco-dev/cco/releases/download/v${V}/checksums.txt`, size: 300 },
    ]
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    const { payload } = await getManifest('beta')
    expect(Object.keys(payload.release!.assets).sort()).toEqual(['linux-x86_64', 'windows-x86_64'])
    expect(payload.release!.assets['linux-x86_64']!.name).toBe(`cco-${V}-linux-x86_64.tar.gz`)
    const published = (await auditLog()).find((e) => e.action === 'release.published')
    expect(published?.detail).toMatchObject({ choices: [{ platform: 'linux-x86_64', chosen: `cco-${V}-linux-x86_64.tar.gz` }] })
  })

  it('cuts notes over 16 KiB and points notes_url at the full text', async () => {
    const long = '## Changes\n' + 'é'.repeat(NOTES_MAX_BYTES)
    await publish('2026.11.1', { body: long })
    const { payload } = await getManifest('beta')
    expect(utf8Length(payload.release!.notes)).toBeLessThanOrEqual(NOTES_MAX_BYTES)
    expect(long.startsWith(payload.release!.notes)).toBe(true)
    expect(payload.release!.notes_url).toBe('https://github.com/cco-dev/cco/releases/tag/v2026.11.1')
  })

  it('keeps the signed manifest under 64 KiB even when the notes escape heavily in JSON', async () => {
    await publish('2026.11.1', { body: '\u0001'.repeat(NOTES_MAX_BYTES) })
    const { body, payload } = await getManifest('beta')
    expect(new TextEncoder().encode(body).byteLength).toBeLessThanOrEqual(64 * 1024)
    expect(payload.release!.notes.length).toBeGreaterThan(1000)
  })
})

describe('channels', () => {
  it('puts a prerelease on beta only', async () => {
    await publish('2026.12.0-rc.1', { prerelease: true })
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.12.0-rc.1')
    expect((await getManifest('stable')).payload.release).toBeNull()
  })

  it('puts a full release on beta, and not on stable unless STABLE_FROM_RELEASES is on', async () => {
    await publish('2026.11.1')
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
    expect((await getManifest('stable')).payload.release).toBeNull()
  })

  it('points beta at the highest live version whatever order releases arrive in', async () => {
    await publish('2026.11.3')
    await publish('2026.11.1')
    await publish('2026.11.10')
    await publish('2026.11.2')
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.10')
  })

  it('gives every change of a channel the next seq, and none to a delivery that changes nothing', async () => {
    const seqs: number[] = []
    const beta = async () => seqs.push((await getManifest('beta')).payload.seq)
    await beta() // the empty channel's first manifest
    await publish('2026.11.1')
    await beta()
    await publish('2026.11.2')
    await beta()
    await publish('2026.11.0') // lower: beta does not change
    await beta()
    await sendRelease({ action: 'edited', tag: 'v2026.11.2', assets: await archives('2026.11.2'), body: 'notes' })
    await beta()
    expect(seqs).toEqual([1, 2, 3, 3, 4])
  })

  it('gives an edit a new seq carrying the new notes, only on the channels serving the release', async () => {
    await publish('2026.11.1', { body: 'first draft of the notes' })
    await publish('2026.11.2-beta.1', { prerelease: true })
    const before = await getManifest('beta')
    const r = await sendRelease({ action: 'edited', tag: 'v2026.11.1', assets: await archives('2026.11.1'), body: 'corrected notes' })
    expect(r.body).toMatchObject({ status: 'published', channels: {} }) // beta serves 2026.11.2-beta.1
    const edit = await sendRelease({ action: 'edited', tag: 'v2026.11.2-beta.1', prerelease: true, assets: await archives('2026.11.2-beta.1'), body: 'beta notes' })
    expect(edit.body.channels).toEqual({ beta: before.payload.seq + 1 })
    const after = await getManifest('beta')
    expect(after.payload.seq).toBe(before.payload.seq + 1)
    expect(after.payload.release?.notes).toBe('beta notes')
    expect((await stub().getRelease('2026.11.1'))?.notes).toBe('corrected notes')
  })

  it('falls back to the previous release when the current one is deleted or unpublished', async () => {
    await publish('2026.11.1')
    await publish('2026.11.2')
    await publish('2026.11.3')
    const seq = (await getManifest('beta')).payload.seq
    const del = await sendRelease({ action: 'deleted', tag: 'v2026.11.3', assets: await archives('2026.11.3') })
    expect(del.body).toMatchObject({ status: 'withdrawn', version: '2026.11.3', channels: { beta: seq + 1 } })
    let m = await getManifest('beta')
    expect(m.payload).toMatchObject({ seq: seq + 1, release: { version: '2026.11.2' } })
    await sendRelease({ action: 'unpublished', tag: 'v2026.11.2', assets: await archives('2026.11.2') })
    m = await getManifest('beta')
    expect(m.payload).toMatchObject({ seq: seq + 2, release: { version: '2026.11.1' } })
    expect((await stub().getRelease('2026.11.3'))).toMatchObject({ status: 'withdrawn', reason: 'deleted on GitHub' })
  })

  it('keeps serving a live release when an update of it is refused', async () => {
    await publish('2026.11.1')
    const seq = (await getManifest('beta')).payload.seq
    const bad = await sendRelease({ action: 'edited', tag: 'v2026.11.1', assets: [await archive('2026.11.1', 'linux-x86_64', { host: 'evil.example' })] })
    expect(bad.body.status).toBe('refused')
    expect((await getManifest('beta')).payload).toMatchObject({ seq, release: { version: '2026.11.1' } })
    expect(await stub().getRelease('2026.11.1')).toMatchObject({ status: 'live', reason: expect.stringContaining('evil.example') })
  })

  it('moves a release whose tag was changed to its new version', async () => {
    await publish('2026.11.1', { releaseId: 77 })
    await sendRelease({ action: 'edited', tag: 'v2026.11.2', releaseId: 77, assets: await archives('2026.11.2') })
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.2')
    expect(await stub().getRelease('2026.11.1')).toMatchObject({ status: 'withdrawn', reason: 'tag changed to v2026.11.2' })
  })

  it('lets a release deleted and created again under the same tag take the version back', async () => {
    await publish('2026.11.1', { releaseId: 10 })
    await sendRelease({ action: 'deleted', tag: 'v2026.11.1', releaseId: 10, assets: await archives('2026.11.1') })
    expect((await getManifest('beta')).payload.release).toBeNull()
    await publish('2026.11.1', { releaseId: 11 })
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
    expect((await stub().getRelease('2026.11.1'))?.github_id).toBe(11)
  })
})

describe('history', () => {
  it('lists releases newest first with status and refusal reason, and serves one with its notes', async () => {
    await publish('2026.11.1', { publishedAt: '2026-11-01T10:00:00Z', body: 'one' })
    await sendRelease({ action: 'published', tag: 'not-a-version', publishedAt: '2026-11-02T10:00:00Z', assets: [] })
    await publish('2026.11.2', { publishedAt: '2026-11-03T10:00:00Z' })
    const list = (await (await exports.default.fetch(`${BROKER}/v1/releases`)).json()) as { releases: any[] }
    expect(list.releases.map((r) => [r.version, r.status])).toEqual([
      ['2026.11.2', 'live'],
      ['not-a-version', 'refused'],
      ['2026.11.1', 'live'],
    ])
    expect(list.releases[1].reason).toMatch(/not a version/)
    expect(list.releases[0].channels).toEqual(['beta'])

    const one = (await (await exports.default.fetch(`${BROKER}/v1/releases/v2026.11.1`)).json()) as any
    expect(one).toMatchObject({ version: '2026.11.1', notes: 'one', status: 'live' })
    expect(one.assets['linux-x86_64'].url).toBe(`https://broker.test/v1/assets/2026.11.1/${one.assets['linux-x86_64'].sha256}/cco-2026.11.1-linux-x86_64.tar.gz`)
    const missing = await exports.default.fetch(`${BROKER}/v1/releases/2099.1.1`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found' } })
  })

  it('redirects asset downloads to the recorded URL and answers 404 for unknown ones', async () => {
    await publish('2026.11.1')
    const name = 'cco-2026.11.1-linux-x86_64.tar.gz'
    const url = (await getManifest('beta')).payload.release!.assets['linux-x86_64']!.url
    // The manifest's content-addressed URL, and the name-only one of manifests signed before it.
    for (const asked of [url, `${BROKER}/v1/assets/2026.11.1/${name}`]) {
      const res = await exports.default.fetch(asked, { redirect: 'manual' })
      expect(res.status, asked).toBe(302)
      expect(res.headers.get('location')).toBe(`https://github.com/cco-dev/cco/releases/download/v2026.11.1/${name}`)
    }
    expect((await exports.default.fetch(`${BROKER}/v1/assets/2026.11.1/other.tar.gz`, { redirect: 'manual' })).status).toBe(404)
    expect((await exports.default.fetch(`${BROKER}/v1/assets/2026.9.9/cco-2026.9.9-linux-x86_64.tar.gz`, { redirect: 'manual' })).status).toBe(404)

    // The archive is replaced under the same name: the old URL no longer leads to GitHub, whose
    // bytes under that name would fail the checksum the old manifest promised.
    const replaced = { ...(await archive('2026.11.1', 'linux-x86_64')), digest: `sha256:${await digestOf('rebuilt')}` }
    await sendRelease({ action: 'edited', tag: 'v2026.11.1', assets: [replaced, await archive('2026.11.1', 'darwin-arm64')] })
    const old = await exports.default.fetch(url, { redirect: 'manual' })
    expect(old.status).toBe(404)
    expect(await old.json()).toMatchObject({ error: { code: 'not_found', message: expect.stringMatching(/was replaced; fetch the channel's manifest again$/) } })
    const current = (await getManifest('beta', { 'cache-control': 'no-cache' })).payload.release!.assets['linux-x86_64']!.url
    expect(current).toContain(`/${await digestOf('rebuilt')}/`)
    expect((await exports.default.fetch(current, { redirect: 'manual' })).status).toBe(302)
  })
})
