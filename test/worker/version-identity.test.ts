// One version, many spellings: every spelling that the contract's ordering calls equal
// (`v` prefix, build metadata, extra `.0` parts, leading zeros, in the core and in numeric
// prerelease identifiers) is the same version for every lookup, refusal, yank, unyank,
// promotion and fallback of the broker. And the soak clock belongs to what is served.
// This project runs with MIN_BETA_SOAK_HOURS=24.
import { reset } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { adminPost, archive, archives, auditLog, backdateLive, channelState, getManifest, publish, sendRelease, stateSnapshot, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

/** Spellings of 1.0.0, one per class of equal spelling. */
const SPELLINGS_OF_1_0_0 = [
  ['the same text', '1.0.0'],
  ['a capital V prefix', 'V1.0.0'],
  ['build metadata', 'v1.0.0+rebuild.2'],
  ['a missing .0 part', 'v1.0'],
  ['an extra .0 part', 'v1.0.0.0'],
  ['leading zeros', 'v01.00.000'],
  ['all of them', 'V001.0.0.0.0+x'],
] as const

async function releaseCount(): Promise<number> {
  return (await stub().listReleases()).length
}

describe('a second GitHub release of an equal version', () => {
  it.each(SPELLINGS_OF_1_0_0)('is refused with a recorded reason when it differs by %s (%s), and changes nothing else', async (_, tag) => {
    await publish('1.0.0', { releaseId: 1001 })
    const before = await stateSnapshot()
    const count = await releaseCount()
    const r = await sendRelease({ action: 'published', tag, releaseId: 2002, assets: await archives('1.0.0-other') })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ status: 'refused', reason: expect.stringMatching(/already belongs to GitHub release 1001/) })
    // Recorded: the refusal with its reason in the audit log; nothing else moved.
    const after = await stateSnapshot()
    expect(after.seqs).toEqual(before.seqs)
    expect(after.manifests).toEqual(before.manifests)
    const refusal = (await auditLog()).filter((e) => e.id > (before.lastAudit ?? 0))
    expect(refusal).toEqual([expect.objectContaining({ action: 'release.refused', detail: expect.objectContaining({ github_id: 2002, tag }) })])
    expect(await releaseCount()).toBe(count)
    expect((await stub().getRelease(tag))).toMatchObject({ version: '1.0.0', github_id: 1001, status: 'live' })
    expect((await getManifest('beta')).payload.release?.version).toBe('1.0.0')
  })

  it('is refused for equal prereleases too (numeric identifiers with leading zeros, build metadata)', async () => {
    await publish('2.0.0-rc.1', { releaseId: 1001, prerelease: true })
    for (const [i, tag] of ['v2.0.0-rc.01', 'v2.0-rc.1+b7', '2.0.0.0-rc.001'].entries()) {
      const r = await sendRelease({ action: 'published', tag, releaseId: 3000 + i, prerelease: true, assets: await archives('2.0.0-rc.1') })
      expect(r.body).toMatchObject({ status: 'refused', reason: expect.stringMatching(/already belongs to GitHub release 1001 \(as 2\.0\.0-rc\.1/) })
    }
    // Not equal: another identifier, or a different case (SemVer compares identifiers as ASCII).
    for (const [i, tag] of ['v2.0.0-rc.2', 'v2.0.0-RC.1'].entries()) {
      const r = await sendRelease({ action: 'published', tag, releaseId: 4000 + i, prerelease: true, assets: await archives(tag.slice(1)) })
      expect(r.body.status).toBe('published')
    }
  })

  it('takes over the version once its release was deleted, and a yank of the version still holds', async () => {
    await publish('1.0.0', { releaseId: 1001 })
    await publish('1.1.0', { releaseId: 1101 })
    expect((await adminPost('/v1/releases/1.1.0/yank', { reason: 'corrupts config' })).status).toBe(200)
    await sendRelease({ action: 'deleted', tag: 'v1.1.0', releaseId: 1101, assets: await archives('1.1.0') })
    const r = await sendRelease({ action: 'published', tag: 'v1.1+rebuild', releaseId: 2202, assets: await archives('1.1.0-rebuild') })
    expect(r.body).toMatchObject({ status: 'published', version: '1.1.0' })
    const stored = await stub().getRelease('1.1')
    expect(stored).toMatchObject({ version: '1.1.0', tag: 'v1.1+rebuild', github_id: 2202, status: 'live', yanked: { reason: 'corrupts config' } })
    // The yank covers the version, not one GitHub release of it: beta stays on 1.0.0.
    const { payload } = await getManifest('beta')
    expect(payload.release?.version).toBe('1.0.0')
    expect(payload.yanked.map((y) => y.version)).toEqual(['1.1.0'])
  })

  it('is the same version when the same GitHub release changes its tag to another spelling: no withdrawal', async () => {
    await publish('1.0.0', { releaseId: 1001 })
    const liveSince = (await stub().getRelease('1.0.0'))!.live_since
    const r = await sendRelease({ action: 'edited', tag: 'v1.0.0+meta', releaseId: 1001, assets: await archives('1.0.0') })
    expect(r.body).toMatchObject({ status: 'published', version: '1.0.0' })
    expect(await stub().getRelease('1.0.0')).toMatchObject({ status: 'live', tag: 'v1.0.0+meta', live_since: liveSince })
    expect((await auditLog()).some((e) => e.action === 'release.withdrawn')).toBe(false)
    expect((await channelState('beta')).version).toBe('1.0.0')
    expect(await releaseCount()).toBe(1)
  })
})

describe('admin calls find a version by any equal spelling', () => {
  it.each(SPELLINGS_OF_1_0_0)('yank and unyank by %s (%s)', async (_, spelling) => {
    await publish('1.0.0')
    await publish('0.9.0')
    const yank = await adminPost(`/v1/releases/${encodeURIComponent(spelling)}/yank`, { reason: 'crash on start' })
    expect(yank.status).toBe(200)
    expect(yank.body.release).toMatchObject({ version: '1.0.0', yanked: { reason: 'crash on start' } })
    expect((await getManifest('beta')).payload).toMatchObject({ release: { version: '0.9.0' }, yanked: [{ version: '1.0.0', reason: 'crash on start' }] })
    // Yanking it again under yet another spelling is the same yank: refused, nothing written.
    const before = await stateSnapshot()
    const again = await adminPost('/v1/releases/v1.0.0+again/yank', { reason: 'twice' })
    expect(again.status).toBe(409)
    expect(await stateSnapshot()).toEqual(before)

    const unyank = await adminPost(`/v1/releases/${encodeURIComponent(spelling)}/unyank`)
    expect(unyank.status).toBe(200)
    expect((await getManifest('beta')).payload).toMatchObject({ release: { version: '1.0.0' }, yanked: [] })
  })

  it('promotes by another spelling, recording the version as served', async () => {
    await publish('1.0.0')
    await backdateLive('1.0.0', 25)
    const r = await adminPost('/v1/channels/stable/promote', { version: 'v1.0+build.9' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ version: '1.0.0', changed: true })
    expect((await getManifest('stable')).payload.release?.version).toBe('1.0.0')
    // Promoting the same version under another spelling changes nothing.
    const again = await adminPost('/v1/channels/stable/promote', { version: 'V01.0.0' })
    expect(again.body).toMatchObject({ version: '1.0.0', changed: false })
  })

  it('reads one release by any spelling', async () => {
    await publish('1.0.0')
    for (const [, spelling] of SPELLINGS_OF_1_0_0) expect((await stub().getRelease(spelling))?.version).toBe('1.0.0')
    expect(await stub().getRelease('1.0.1')).toBeNull()
    expect(await stub().getRelease('1.0.0-rc.1')).toBeNull()
  })
})

describe('the soak clock belongs to what is served', () => {
  const V = '2026.11.1'
  const replaced = async (platform: 'linux-x86_64' | 'darwin-arm64') => ({ ...(await archive(V, platform)), digest: `sha256:${'a'.repeat(64)}` })

  async function soaked(o: { releaseId?: number } = {}) {
    await publish(V, o)
    await backdateLive(V, 25)
    expect((await stub().getRelease(V))!.live_since).not.toBeNull()
  }

  async function expectRestarted(reason: RegExp) {
    const restarted = (await auditLog()).filter((e) => e.action === 'release.soak_restarted')
    expect(restarted).toEqual([expect.objectContaining({ target: V, detail: expect.objectContaining({ reason: expect.stringMatching(reason), previous_live_since: expect.any(String) }) })])
    const promote = await adminPost('/v1/channels/stable/promote', { version: V })
    expect(promote.status).toBe(409)
    expect(promote.body.error.message).toMatch(/has been on beta for 0\.0 h, less than MIN_BETA_SOAK_HOURS/)
    const forced = await adminPost('/v1/channels/stable/promote', { version: V, force: true })
    expect(forced.status).toBe(200)
    expect((await auditLog()).find((e) => e.action === 'channel.promoted')?.detail).toMatchObject({ force: true, soak_skipped: true })
  }

  it('restarts when an archive is replaced by other bytes', async () => {
    await soaked()
    await sendRelease({ action: 'edited', tag: `v${V}`, assets: [await replaced('linux-x86_64'), await archive(V, 'darwin-arm64')] })
    await expectRestarted(/assets changed: linux-x86_64 replaced \(sha256 /)
  })

  it('restarts when an archive is added', async () => {
    await soaked()
    await sendRelease({ action: 'edited', tag: `v${V}`, assets: [...(await archives(V)), await archive(V, 'windows-x86_64')] })
    await expectRestarted(/assets changed: windows-x86_64 added/)
  })

  it('restarts when an archive is removed', async () => {
    await soaked()
    await sendRelease({ action: 'edited', tag: `v${V}`, assets: [await archive(V, 'linux-x86_64')] })
    await expectRestarted(/assets changed: darwin-arm64 removed/)
  })

  it('restarts when another GitHub release takes the version over', async () => {
    await soaked({ releaseId: 1001 })
    await sendRelease({ action: 'deleted', tag: `v${V}`, releaseId: 1001, assets: await archives(V) })
    await sendRelease({ action: 'published', tag: `v${V}`, releaseId: 2002, assets: await archives(V) })
    await expectRestarted(/taken over by GitHub release 2002 \(was 1001\)/)
  })

  it('restarts when the release is published again after it was unpublished', async () => {
    await soaked()
    await sendRelease({ action: 'unpublished', tag: `v${V}`, assets: await archives(V) })
    expect((await getManifest('beta')).payload.release).toBeNull()
    // (Another body: the first `published` body would be a replayed duplicate.)
    const again = await sendRelease({ action: 'published', tag: `v${V}`, body: 'Published again', assets: await archives(V) })
    expect(again.body.status).toBe('published')
    await expectRestarted(/published again after it was withdrawn/)
  })

  it('keeps running when only notes, names or the tag spelling change', async () => {
    await soaked()
    const renamed = { ...(await archive(V, 'darwin-arm64')), name: canonicalAssetName(V, 'darwin-arm64').replace('arm64', 'aarch64') }
    // Same bytes (the digest of the original name) under a new name.
    renamed.digest = (await archive(V, 'darwin-arm64')).digest
    await sendRelease({ action: 'edited', tag: `v${V}+notes`, body: 'New notes', assets: [await archive(V, 'linux-x86_64'), renamed] })
    expect((await auditLog()).some((e) => e.action === 'release.soak_restarted')).toBe(false)
    const promote = await adminPost('/v1/channels/stable/promote', { version: V })
    expect(promote.status).toBe(200)
  })
})
