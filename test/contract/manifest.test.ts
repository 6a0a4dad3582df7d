// The manifest payload schema accepts a complete manifest and refuses what the rules forbid.
import { describe, expect, it } from 'vitest'
import { PromoteRequestSchema, RolloutRequestSchema } from '../../contract/api.ts'
import { ManifestPayloadSchema, NOTES_MAX_BYTES, PublicKeySchema, truncateUtf8, utf8Length } from '../../contract/manifest.ts'

const example = () => ({
  schema: 1,
  product: 'cco',
  channel: 'stable',
  seq: 42,
  issued_at: '2026-11-26T20:00:00Z',
  expires_at: '2026-12-03T20:00:00Z',
  release: {
    version: '2026.11.3',
    tag: 'v2026.11.3',
    published_at: '2026-11-25T14:00:00Z',
    notes: 'markdown, at most 16 KiB',
    notes_url: 'https://github.com/OWNER/REPO/releases/tag/v2026.11.3',
    assets: {
      'linux-x86_64': {
        name: 'cco-2026.11.3-linux-x86_64.tar.gz',
        url: 'https://broker.example/v1/assets/2026.11.3/cco-2026.11.3-linux-x86_64.tar.gz',
        size: 41234567,
        sha256: 'a'.repeat(64),
      },
    },
  },
  rollout: { percent: 100, halted: false },
  yanked: [{ version: '2026.11.2', reason: 'crashes on start' }],
})

describe('ManifestPayloadSchema', () => {
  it('accepts a manifest with every field filled in', () => {
    expect(ManifestPayloadSchema.safeParse(example()).success).toBe(true)
  })

  it('accepts a channel without a release', () => {
    expect(ManifestPayloadSchema.safeParse({ ...example(), release: null }).success).toBe(true)
  })

  it('ignores fields it does not know (newer brokers may add some)', () => {
    const parsed = ManifestPayloadSchema.parse({ ...example(), future_field: { a: 1 } })
    expect(parsed).not.toHaveProperty('future_field')
  })

  it('accepts asset keys for platforms it does not know', () => {
    const m = example()
    ;(m.release.assets as Record<string, unknown>)['linux-riscv64'] = m.release.assets['linux-x86_64']
    expect(ManifestPayloadSchema.safeParse(m).success).toBe(true)
  })

  const broken: [string, (m: ReturnType<typeof example>) => void][] = [
    ['another schema version', (m) => void ((m as { schema: number }).schema = 2)],
    ['a zero seq', (m) => void (m.seq = 0)],
    ['a fractional seq', (m) => void (m.seq = 1.5)],
    ['a bad timestamp', (m) => void (m.expires_at = 'next week')],
    ['a version that is not one', (m) => void (m.release.version = 'latest')],
    ['uppercase sha256', (m) => void (m.release.assets['linux-x86_64'].sha256 = 'A'.repeat(64))],
    ['a short sha256', (m) => void (m.release.assets['linux-x86_64'].sha256 = 'a'.repeat(63))],
    ['a negative size', (m) => void (m.release.assets['linux-x86_64'].size = -1)],
    ['a non-http url', (m) => void (m.release.assets['linux-x86_64'].url = 'file:///etc/passwd')],
    ['percent over 100', (m) => void (m.rollout.percent = 101)],
    ['notes over 16 KiB', (m) => void (m.release.notes = 'x'.repeat(NOTES_MAX_BYTES + 1))],
    ['a missing rollout', (m) => void delete (m as Partial<typeof m>).rollout],
    ['a yanked entry without a version', (m) => void (m.yanked = [{ reason: 'x' } as never])],
  ]
  it.each(broken)('refuses %s', (_name, mutate) => {
    const m = example()
    mutate(m)
    expect(ManifestPayloadSchema.safeParse(m).success).toBe(false)
  })
})

describe('UTF-8 helpers', () => {
  it('counts bytes, not code units', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4)
  })

  it('cuts without splitting a character', () => {
    expect(truncateUtf8('aé€😀', 4)).toBe('aé')
    expect(truncateUtf8('aé€😀', 6)).toBe('aé€')
    expect(truncateUtf8('aé€😀', 10)).toBe('aé€😀')
    expect(truncateUtf8('😀😀', 3)).toBe('')
  })
})

describe('admin bodies and keys', () => {
  it('validates promotion and rollout bodies', () => {
    expect(PromoteRequestSchema.safeParse({ version: '2026.11.3', percent: 10 }).success).toBe(true)
    expect(PromoteRequestSchema.safeParse({ version: 'latest' }).success).toBe(false)
    expect(RolloutRequestSchema.safeParse({ percent: 101 }).success).toBe(false)
    expect(RolloutRequestSchema.safeParse({ percent: -1 }).success).toBe(false)
    expect(RolloutRequestSchema.safeParse({ percent: 12.5 }).success).toBe(false)
  })

  it('knows what a pinned key looks like', () => {
    expect(PublicKeySchema.safeParse({ kid: 'k1', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }).success).toBe(true)
    expect(PublicKeySchema.safeParse({ kid: 'k1', x: 'not base64url!' }).success).toBe(false)
  })
})
