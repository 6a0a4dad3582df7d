// The update decision (pure) and the rollout bucket.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Asset } from '../../contract/manifest.ts'
import { yankOf, decideUpdate } from '../../client/src/update/decide.ts'
import { inRollout, rolloutBucket } from '../../client/src/update/rollout.ts'
import { manifestPayload } from '../../support/signed-manifest.ts'

const asset: Asset = { name: 'cco-2026.1.2-linux-x86_64.tar.gz', url: 'https://example.com/a.tar.gz', size: 10, sha256: 'a'.repeat(64) }
const host = '00000000-0000-4000-8000-000000000000'
const m = (o: Parameters<typeof manifestPayload>[0] = {}) => manifestPayload({ version: '2026.1.2', assets: { 'linux-x86_64': asset }, ...o })

describe('rolloutBucket', () => {
  it('is sha256(host_id:version), first 4 bytes big-endian, mod 100 (known vectors)', () => {
    // Computed independently (Python hashlib) for the contract.
    expect(rolloutBucket(host, '2026.1.2')).toBe(14)
    expect(rolloutBucket('3f2a0c4e-1b7d-4c9a-9e21-5a8f0d6b7c11', '2026.11.3')).toBe(79)
  })

  it('keeps a host in the rollout as the percentage grows', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (id, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        const bucket = rolloutBucket(id, '2026.1.2')
        expect(bucket).toBeGreaterThanOrEqual(0)
        expect(bucket).toBeLessThan(100)
        if (inRollout(id, '2026.1.2', lo)) expect(inRollout(id, '2026.1.2', hi)).toBe(true)
      }),
    )
  })
})

describe('decideUpdate', () => {
  it('installs a newer release', () => {
    const d = decideUpdate(m(), '2026.1.1', host, 'linux-x86_64')
    expect(d).toMatchObject({ kind: 'install', version: '2026.1.2', why: 'newer', asset })
  })

  it('does nothing when the channel has no release', () => {
    expect(decideUpdate(m({ version: null }), '2026.1.1', host, 'linux-x86_64')).toMatchObject({ kind: 'none', why: 'no-release' })
  })

  it('does nothing when running the same or a newer version', () => {
    expect(decideUpdate(m(), '2026.1.2', host, 'linux-x86_64')).toMatchObject({ kind: 'none', why: 'up-to-date' })
    expect(decideUpdate(m(), '2026.1.2+abc', host, 'linux-x86_64')).toMatchObject({ kind: 'none', why: 'up-to-date' })
    expect(decideUpdate(m(), '2026.2.0', host, 'linux-x86_64')).toMatchObject({ kind: 'none', why: 'up-to-date' })
  })

  it('orders a prerelease below its release', () => {
    expect(decideUpdate(m(), '2026.1.2-beta.1', host, 'linux-x86_64')).toMatchObject({ kind: 'install' })
  })

  it('does nothing while the rollout is halted', () => {
    expect(decideUpdate(m({ halted: true }), '2026.1.1', host, 'linux-x86_64')).toMatchObject({ kind: 'none', why: 'halted' })
  })

  it('installs only when the host bucket is below the rollout percentage', () => {
    // This host's bucket for 2026.1.2 is 14.
    expect(decideUpdate(m({ percent: 14 }), '2026.1.1', host, 'linux-x86_64')).toMatchObject({ kind: 'none', why: 'not-in-rollout' })
    expect(decideUpdate(m({ percent: 15 }), '2026.1.1', host, 'linux-x86_64')).toMatchObject({ kind: 'install' })
    expect(decideUpdate(m({ percent: 0 }), '2026.1.1', host, 'linux-x86_64')).toMatchObject({ kind: 'none' })
  })

  it('moves a host off a yanked version at once, even downwards, halted or at 0 %', () => {
    const yanked = [{ version: '2026.1.3', reason: 'crashes on start' }]
    expect(decideUpdate(m({ yanked }), '2026.1.3', host, 'linux-x86_64')).toMatchObject({ kind: 'install', why: 'yanked', version: '2026.1.2' })
    // The decision carries the yank entry, so that the command can say why without looking again.
    expect(decideUpdate(m({ yanked }), '2026.1.3', host, 'linux-x86_64')).toMatchObject({ yanked: yanked[0] })
    expect(decideUpdate(m({ yanked, halted: true, percent: 0 }), '2026.1.3', host, 'linux-x86_64')).toMatchObject({ kind: 'install', why: 'yanked' })
    expect(decideUpdate(m({ yanked }), 'v2026.1.3+build', host, 'linux-x86_64')).toMatchObject({ kind: 'install', why: 'yanked' })
    // Every spelling that compares equal is the yanked version: extra `.0` parts, leading zeros.
    for (const running of ['2026.1.3.0', '2026.01.003', 'V2026.1.3.0+x']) {
      expect(decideUpdate(m({ yanked }), running, host, 'linux-x86_64')).toMatchObject({ kind: 'install', why: 'yanked', yanked: yanked[0] })
      expect(yankOf(m({ yanked }), running)).toEqual(yanked[0])
    }
    expect(yankOf(m({ yanked }), '2026.1.3-rc.1')).toBeNull()
  })

  it('does not reinstall the version it runs even if that version is listed as yanked', () => {
    const yanked = [{ version: '2026.1.2', reason: 'oops' }]
    expect(decideUpdate(m({ yanked }), '2026.1.2', host, 'linux-x86_64')).toMatchObject({ kind: 'none' })
  })

  it('reports a release without an asset for this platform', () => {
    const d = decideUpdate(m(), '2026.1.1', host, 'darwin-arm64')
    expect(d.kind).toBe('no-asset')
    expect(d.detail).toMatch(/^No release asset found for platform darwin-arm64/)
  })
})
