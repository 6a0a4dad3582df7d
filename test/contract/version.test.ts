// Version parsing and ordering: examples from contract/README.md and properties of the total order.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareVersions, isPrerelease, isVersion, maxVersion, parseVersion, sameVersion, versionIdentity, versionKey } from '../../contract/version.ts'

describe('parseVersion', () => {
  it.each([
    ['2025.11.2', [2025, 11, 2], [], ''],
    ['v2026.1.1', [2026, 1, 1], [], ''],
    ['2025.11.3-beta.1', [2025, 11, 3], ['beta', 1], ''],
    ['2025.11.2+ac4de7d', [2025, 11, 2], [], 'ac4de7d'],
    ['V1.2.3-rc.1+build.5', [1, 2, 3], ['rc', 1], 'build.5'],
    ['1.2', [1, 2], [], ''],
    ['2025.01.2', [2025, 1, 2], [], ''],
  ])('parses %s', (input, core, pre, build) => {
    const v = parseVersion(input)
    expect(v).not.toBeNull()
    expect(v!.core).toEqual(core)
    expect(v!.prerelease).toEqual(pre)
    expect(v!.build).toEqual(build)
    expect(v!.text).toBe(input.replace(/^[vV]/, ''))
  })

  it.each(['', 'latest', 'v', '2026', 'release-2026.1.1', '2026.1.1.', '.2026.1', '2026..1', '2026.1.1-', '2026.1.1+',
    '2026.1.1-beta..1', ' 2026.1.1', '2026.1.1 ', 'vv2026.1.1', '1.2.3.4.5.6.7.8.9', '1234567890123456.1', 'x'.repeat(200)])(
    'refuses %j',
    (input) => {
      expect(parseVersion(input)).toBeNull()
      expect(isVersion(input)).toBe(false)
    },
  )
})

describe('compareVersions', () => {
  it.each([
    ['2025.11.2', '2025.11.10', -1],
    ['2025.12.1', '2026.1.1', -1],
    ['2026.1.1', 'v2026.1.1', 0],
    ['2025.11.3-beta.1', '2025.11.3', -1],
    ['2025.11.3-beta.1', '2025.11.2', 1],
    ['2025.11.3-beta.2', '2025.11.3-beta.10', -1],
    ['2025.11.3-alpha', '2025.11.3-beta', -1],
    ['2025.11.3-beta', '2025.11.3-beta.1', -1],
    ['2025.11.3-1', '2025.11.3-alpha', -1],
    ['2025.11.2+aaa', '2025.11.2+bbb', 0],
    ['1.2', '1.2.0', 0],
    ['1.2', '1.2.1', -1],
    ['2025.01.2', '2025.1.2', 0],
  ])('%s vs %s → %i', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want)
    expect(compareVersions(b, a)).toBe(-want || 0)
  })

  it('picks the highest version regardless of order', () => {
    expect(maxVersion(['2026.1.1', '2026.1.10-rc.1', '2026.1.2', '2026.1.10-beta'])).toBe('2026.1.10-rc.1')
    expect(maxVersion([])).toBeUndefined()
  })

  it('knows prereleases', () => {
    expect(isPrerelease('2026.1.1-beta.1')).toBe(true)
    expect(isPrerelease('2026.1.1+build')).toBe(false)
  })
})

describe('version identity', () => {
  it.each([
    ['1.0.0', '1'],
    ['v1.0.0', '1'],
    ['V1.0', '1'],
    ['1.0.0+rebuild.7', '1'],
    ['1.0.0.0.0', '1'],
    ['01.00.000', '1'],
    ['0.0', '0'],
    ['2026.11.3', '2026.11.3'],
    ['2026.011.03+x', '2026.11.3'],
    ['1.2.0-rc.01', '1.2-rc.1'],
    ['1.2-rc.1+b', '1.2-rc.1'],
    ['1.2.0-RC.1', '1.2-RC.1'],
    ['1.2.0-0', '1.2-0'],
  ])('%s has the key %s', (input, key) => {
    expect(versionKey(input)).toBe(key)
    expect(versionIdentity(input)).toBe(key)
  })

  it('treats text that is not a version as equal only to itself', () => {
    expect(versionIdentity('nightly')).toBe('#nightly')
    expect(sameVersion('nightly', 'nightly')).toBe(true)
    expect(sameVersion('nightly', 'Nightly')).toBe(false)
    expect(sameVersion('1.0', '1.0.0+x')).toBe(true)
    expect(sameVersion('1.0', 'nightly')).toBe(false)
    expect(sameVersion('1.0.0-rc.1', '1.0.0')).toBe(false)
  })
})

// Arbitrary versions, built from their parts so that every generated string is valid.
const ident = fc.oneof(fc.nat({ max: 50 }).map(String), fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/))
const versionText = fc
  .record({
    v: fc.boolean(),
    core: fc.array(fc.nat({ max: 3000 }), { minLength: 2, maxLength: 4 }),
    pre: fc.array(ident, { maxLength: 3 }),
    build: fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { maxLength: 2 }),
  })
  .map(({ v, core, pre, build }) =>
    `${v ? 'v' : ''}${core.join('.')}${pre.length ? '-' + pre.join('.') : ''}${build.length ? '+' + build.join('.') : ''}`,
  )

describe('ordering properties', () => {
  it('round-trips: every generated version parses and keeps its text', () => {
    fc.assert(
      fc.property(versionText, (s) => {
        const v = parseVersion(s)
        expect(v).not.toBeNull()
        expect(v!.text).toBe(s.replace(/^v/, ''))
        expect(parseVersion(v!.text)!.core).toEqual(v!.core)
      }),
    )
  })

  it('is a total order: reflexive, antisymmetric, transitive', () => {
    fc.assert(
      fc.property(versionText, versionText, versionText, (a, b, c) => {
        expect(compareVersions(a, a)).toBe(0)
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0)
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0)
      }),
    )
  })

  it('agrees with sorting: a sorted list is ordered pairwise', () => {
    fc.assert(
      fc.property(fc.array(versionText, { maxLength: 20 }), (list) => {
        const sorted = [...list].sort(compareVersions)
        for (let i = 1; i < sorted.length; i++) expect(compareVersions(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0)
      }),
    )
  })

  it('gives two versions the same key exactly when they compare equal', () => {
    // Respellings of one version: a `v`, leading zeros, trailing `.0` parts, other build metadata.
    const respell = (s: string, zeros: number, extra: number, build: string) => {
      const p = parseVersion(s)!
      const core = [...p.core.map((n) => '0'.repeat(zeros) + n), ...Array(extra).fill('0')].slice(0, 8).join('.')
      const pre = p.prerelease.length ? '-' + p.prerelease.map((x) => (typeof x === 'number' ? '0'.repeat(zeros) + x : x)).join('.') : ''
      return `V${core}${pre}${build ? '+' + build : ''}`
    }
    fc.assert(
      fc.property(versionText, versionText, (a, b) => {
        expect(versionKey(a) === versionKey(b)).toBe(compareVersions(a, b) === 0)
        expect(sameVersion(a, b)).toBe(compareVersions(a, b) === 0)
      }),
    )
    fc.assert(
      fc.property(versionText, fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.stringMatching(/^[a-z0-9]{0,6}$/), (a, zeros, extra, build) => {
        const b = respell(a, zeros, extra, build)
        if (parseVersion(b) === null) return // past the length or component limits
        expect(compareVersions(a, b)).toBe(0)
        expect(versionKey(b)).toBe(versionKey(a))
      }),
    )
  })

  it('never throws on arbitrary strings, only answers null', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void parseVersion(s)))
  })
})
