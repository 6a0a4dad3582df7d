// The release statement's payload schema (contract/release-manifest.ts): it accepts a complete
// statement, refuses what the rules forbid, keeps the channel manifest's meaning of a version,
// a time and an asset, and can be told apart from a channel manifest by its typ and its shape.
import { describe, expect, it } from 'vitest'
import { JWS_TYP, ManifestPayloadSchema } from '../../contract/manifest.ts'
import { RELEASE_JWS_TYP, RELEASE_MANIFEST_TTL_MS, ReleaseManifestPayloadSchema } from '../../contract/release-manifest.ts'

const example = () => ({
  schema: 1,
  product: 'cco',
  version: '2026.11.3',
  tag: 'v2026.11.3',
  published_at: '2026-11-25T14:00:00Z',
  status: 'live',
  issued_at: '2026-11-26T20:00:00Z',
  expires_at: '2026-11-26T21:00:00Z',
  notes_url: 'https://github.com/OWNER/REPO/releases/tag/v2026.11.3',
  assets: {
    'linux-x86_64': {
      name: 'cco-2026.11.3-linux-x86_64.tar.gz',
      url: `https://broker.example/v1/assets/2026.11.3/${'a'.repeat(64)}/cco-2026.11.3-linux-x86_64.tar.gz`,
      size: 41234567,
      sha256: 'a'.repeat(64),
    },
  },
})

describe('ReleaseManifestPayloadSchema', () => {
  it('accepts a complete statement and strips fields it does not know (a newer broker may add some)', () => {
    const parsed = ReleaseManifestPayloadSchema.parse({ ...example(), signed_for: 'incident-42' })
    expect(parsed).toEqual(example())
  })

  it('accepts a status other than live (the client refuses it by rule, not by shape)', () => {
    expect(ReleaseManifestPayloadSchema.safeParse({ ...example(), status: 'yanked' }).success).toBe(true)
    expect(ReleaseManifestPayloadSchema.safeParse({ ...example(), status: '' }).success).toBe(false)
  })

  it.each([
    ['another schema number', { schema: 2 }],
    ['a version that is not one', { version: 'nightly' }],
    ['a time without a zone', { expires_at: '2026-11-26T21:00:00' }],
    ['no assets', { assets: undefined }],
    ['an asset with a bad sha256', { assets: { 'linux-x86_64': { ...example().assets['linux-x86_64'], sha256: 'A'.repeat(64) } } }],
    ['an asset URL that is not http(s)', { assets: { 'linux-x86_64': { ...example().assets['linux-x86_64'], url: 'file:///etc/passwd' } } }],
    ['no expiry', { expires_at: undefined }],
  ])('refuses %s', (_what, change) => {
    expect(ReleaseManifestPayloadSchema.safeParse({ ...example(), ...change }).success).toBe(false)
  })

  it('is not a channel manifest, and a channel manifest is not a statement: the typs and the shapes differ', () => {
    expect(RELEASE_JWS_TYP).toBe('cco-release+json')
    expect(RELEASE_JWS_TYP).not.toBe(JWS_TYP)
    expect(ManifestPayloadSchema.safeParse(example()).success).toBe(false)
    const channel = {
      schema: 1, product: 'cco', channel: 'stable', seq: 3, issued_at: example().issued_at, expires_at: example().expires_at,
      release: { ...example(), notes: '' }, rollout: { percent: 100, halted: false }, yanked: [],
    }
    expect(ManifestPayloadSchema.safeParse(channel).success).toBe(true)
    expect(ReleaseManifestPayloadSchema.safeParse(channel).success).toBe(false)
  })

  it('lives an hour', () => {
    expect(RELEASE_MANIFEST_TTL_MS).toBe(3_600_000)
  })
})
