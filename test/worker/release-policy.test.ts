// The pure modules behind release engineering, tested with plain data: admin decisions,
// the reconciliation plan, Range parsing, OIDC ref patterns and static token matching.
import { describe, expect, it } from 'vitest'
import { refAllowed } from '../../worker/auth/oidc.ts'
import { matchToken, parseTokenHashes } from '../../worker/auth/static-tokens.ts'
import { ConfigError } from '../../worker/errors.ts'
import { decideHalt, decidePromote, decideResume, decideRollout, decideUnyank, decideYank, type PromoteInput } from '../../worker/policy/admin.ts'
import { sha256Hex } from '../../worker/policy/cache.ts'
import type { ChannelPointer } from '../../worker/policy/channels.ts'
import type { GithubRelease } from '../../worker/policy/github-release.ts'
import { parseRange } from '../../worker/policy/range.ts'
import { planReconcile, type RecordedRelease } from '../../worker/policy/reconcile.ts'

const HOUR = 3600 * 1000
const NOW = Date.parse('2026-11-26T12:00:00Z')
const empty: ChannelPointer = { version: null, percent: 100, halted: false, haltReason: null }
const on = (version: string, o: Partial<ChannelPointer> = {}): ChannelPointer => ({ ...empty, version, ...o })
const live = (version: string, hoursAgo = 48) => ({ version, status: 'live', yanked: null, liveSince: new Date(NOW - hoursAgo * HOUR).toISOString() })

describe('promotion', () => {
  const base: PromoteInput = { channel: 'stable', asked: '2026.11.2', release: live('2026.11.2'), current: empty, minSoakHours: 24, now: NOW }

  it('points stable at the version with a full rollout by default', () => {
    expect(decidePromote(base)).toEqual({
      kind: 'change',
      pointer: { version: '2026.11.2', percent: 100, halted: false, haltReason: null },
      audit: { action: 'channel.promoted', detail: { version: '2026.11.2', from: null, percent: 100 } },
    })
  })

  it('is unchanged only when version, percent and running state are all the same', () => {
    expect(decidePromote({ ...base, current: on('2026.11.2') }).kind).toBe('unchanged')
    expect(decidePromote({ ...base, current: on('2026.11.2'), percent: 50 }).kind).toBe('change')
    expect(decidePromote({ ...base, current: on('2026.11.2', { halted: true, haltReason: 'x' }) }).kind).toBe('change')
  })

  it('refuses beta, unknown, yanked and not-live versions, and a short soak without force', () => {
    expect(decidePromote({ ...base, channel: 'beta' })).toMatchObject({ kind: 'refuse', status: 409 })
    expect(decidePromote({ ...base, release: null })).toMatchObject({ kind: 'refuse', status: 404, code: 'not_found' })
    expect(decidePromote({ ...base, release: { ...live('2026.11.2'), yanked: { reason: 'x' } } })).toMatchObject({ kind: 'refuse', status: 409 })
    expect(decidePromote({ ...base, release: { ...live('2026.11.2'), status: 'mirroring' } })).toMatchObject({ kind: 'refuse', message: '2026.11.2 is not on beta (its status is mirroring)' })
    expect(decidePromote({ ...base, release: live('2026.11.2', 23.9) })).toMatchObject({ kind: 'refuse', status: 409 })
    expect(decidePromote({ ...base, release: live('2026.11.2', 24) }).kind).toBe('change')
    expect(decidePromote({ ...base, release: live('2026.11.2', 1), force: true })).toMatchObject({ kind: 'change', audit: { detail: { force: true, soak_skipped: true, soaked_hours: 1 } } })
  })

  it('records a promotion to a lower version as a downgrade', () => {
    expect(decidePromote({ ...base, asked: '2026.11.2', current: on('2026.11.10') })).toMatchObject({ audit: { detail: { from: '2026.11.10', downgrade: true } } })
    expect(decidePromote({ ...base, current: on('2026.11.1') })).not.toMatchObject({ audit: { detail: { downgrade: true } } })
  })
})

describe('rollout, halt and resume', () => {
  it('need a release on the channel', () => {
    for (const d of [decideRollout('stable', empty, 5), decideHalt('stable', empty, 'x'), decideResume('stable', empty)]) {
      expect(d).toMatchObject({ kind: 'refuse', status: 409, code: 'conflict' })
    }
  })

  it('keep the other half of the rollout and answer a repeated call unchanged', () => {
    expect(decideRollout('beta', on('1.0', { halted: true, haltReason: 'r' }), 30)).toMatchObject({ pointer: { percent: 30, halted: true, haltReason: 'r' } })
    expect(decideRollout('beta', on('1.0', { percent: 30 }), 30).kind).toBe('unchanged')
    expect(decideHalt('beta', on('1.0', { percent: 30 }), 'why')).toMatchObject({ pointer: { percent: 30, halted: true, haltReason: 'why' } })
    expect(decideHalt('beta', on('1.0', { halted: true, haltReason: 'first' }), 'second').kind).toBe('unchanged')
    expect(decideResume('beta', on('1.0', { halted: true, haltReason: 'r' }))).toMatchObject({ pointer: { halted: false, haltReason: null }, audit: { detail: { halt_reason: 'r' } } })
    expect(decideResume('beta', on('1.0')).kind).toBe('unchanged')
  })
})

describe('yank and unyank', () => {
  it('refuse unknown versions, a second yank and an unyank of a version that is not yanked', () => {
    expect(decideYank('9.9', null, 'r', [])).toMatchObject({ status: 404 })
    expect(decideYank('1.0', { ...live('1.0'), yanked: { reason: 'old' } }, 'r', [])).toMatchObject({ status: 409, message: '1.0 is already yanked (old)' })
    expect(decideYank('1.0', live('1.0'), 'r', ['stable', 'beta'])).toMatchObject({ kind: 'change', audit: { action: 'release.yanked', detail: { reason: 'r', channels: ['stable', 'beta'] } } })
    expect(decideUnyank('9.9', null)).toMatchObject({ status: 404 })
    expect(decideUnyank('1.0', live('1.0'))).toMatchObject({ status: 409, message: '1.0 is not yanked' })
    expect(decideUnyank('1.0', { ...live('1.0'), yanked: { reason: 'old' } })).toMatchObject({ kind: 'change', audit: { action: 'release.unyanked', detail: { was: 'old' } } })
  })
})

describe('reconciliation plan', () => {
  const rel = (id: number, tag: string, o: Partial<GithubRelease> = {}): GithubRelease => ({ id, tag_name: tag, draft: false, prerelease: false, body: null, assets: [], ...o })
  const rec = (r: GithubRelease, o: Partial<RecordedRelease> = {}): RecordedRelease => ({ githubId: r.id, version: r.tag_name.slice(1), status: 'live', reason: null, source: r, ...o })
  const plan = (listed: GithubRelease[], recorded: RecordedRelease[], o: { complete?: boolean; changed?: string[] } = {}) =>
    planReconcile({ listed, recorded, complete: o.complete ?? true, changedSince: new Set(o.changed ?? []), deletedReason: 'deleted on GitHub' })

  const a = rel(1, 'v1.0')
  const b = rel(2, 'v1.1')

  it('applies unseen and changed releases and skips the ones recorded as listed', () => {
    const edited = { ...b, body: 'new notes' }
    expect(plan([a, edited, rel(3, 'v1.2')], [rec(a), rec(b)]).steps).toEqual([
      { kind: 'apply', release: edited },
      { kind: 'apply', release: rel(3, 'v1.2') },
    ])
    expect(plan([a, b], [rec(a), rec(b)])).toEqual({ steps: [], deferred: 0 })
  })

  it('withdraws an active release missing from a complete list only', () => {
    expect(plan([a], [rec(a), rec(b)]).steps).toEqual([{ kind: 'withdraw', version: '1.1', release: b, action: 'missing' }])
    expect(plan([a], [rec(a), rec(b)], { complete: false }).steps).toEqual([])
    expect(plan([a], [rec(a), rec(b, { status: 'refused' })]).steps).toEqual([])
    expect(plan([a], [rec(a), rec(b, { status: 'mirroring' })]).steps).toHaveLength(1)
  })

  it('withdraws an active release listed as a draft, and ignores other drafts', () => {
    const draft = { ...b, draft: true }
    expect(plan([a, draft], [rec(a), rec(b)]).steps).toEqual([{ kind: 'withdraw', version: '1.1', release: draft, action: 'unpublished' }])
    expect(plan([a, draft], [rec(a)]).steps).toEqual([])
  })

  it('never brings back a release deleted on GitHub', () => {
    expect(plan([a, { ...b, body: 'x' }], [rec(a), rec(b, { status: 'withdrawn', reason: 'deleted on GitHub' })]).steps).toEqual([])
    expect(plan([a, { ...b, body: 'x' }], [rec(a), rec(b, { status: 'withdrawn', reason: 'unpublished on GitHub' })]).steps).toHaveLength(1)
  })

  it('defers releases the broker changed after the list was requested', () => {
    expect(plan([a, { ...b, body: 'older' }], [rec(a), rec(b)], { changed: ['1.1'] })).toEqual({ steps: [], deferred: 1 })
    expect(plan([a], [rec(a), rec(b)], { changed: ['1.1'] })).toEqual({ steps: [], deferred: 1 })
    // A release listed twice (GitHub paging shifting under a new release) counts once.
    expect(plan([a, a], []).steps).toHaveLength(1)
  })
})

describe('Range', () => {
  it('serves one byte range, clamps the end, and answers 416 past the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', start: 0, end: 9 })
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseRange('bytes=90-500', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', start: 0, end: 99 })
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-0', 100)).toEqual({ kind: 'unsatisfiable' })
  })

  it('answers the whole object for anything it does not serve', () => {
    for (const header of [null, '', 'bytes=0-1,5-6', 'items=0-1', 'bytes=5-2', 'bytes=-', 'bytes=a-b']) {
      expect(parseRange(header, 100), String(header)).toEqual({ kind: 'full' })
    }
  })
})

describe('credentials', () => {
  it('matches OIDC refs exactly or by a trailing *', () => {
    const allowed = ['refs/heads/main', 'refs/tags/v*']
    expect(refAllowed('refs/heads/main', allowed)).toBe(true)
    expect(refAllowed('refs/heads/main-old', allowed)).toBe(false)
    expect(refAllowed('refs/tags/v2026.11.1', allowed)).toBe(true)
    expect(refAllowed('refs/tags/x', allowed)).toBe(false)
  })

  it('finds the token among the hashes, whichever entry it is', async () => {
    const entries = parseTokenHashes(` a:${await sha256Hex('token-a')}, b:${(await sha256Hex('token-b')).toUpperCase()} `)
    expect(entries.map((e) => e.name)).toEqual(['a', 'b'])
    expect(await matchToken('token-a', entries)).toBe('a')
    expect(await matchToken('token-b', entries)).toBe('b')
    expect(await matchToken('token-c', entries)).toBeNull()
    expect(parseTokenHashes(undefined)).toEqual([])
  })

  it('refuses malformed or duplicate entries, naming the position and never the text', () => {
    const hex = 'ab'.repeat(32)
    for (const [raw, message] of [
      [`a:${hex},secret-plaintext`, /entry 2 is not name:sha256hex/],
      [`a:${hex.slice(2)}`, /entry 1 is not name:sha256hex/],
      [`a:${hex},a:${hex}`, /the name "a" is listed twice/],
    ] as const) {
      let err: unknown
      try {
        parseTokenHashes(raw)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).not.toContain('plaintext')
    }
  })
})
