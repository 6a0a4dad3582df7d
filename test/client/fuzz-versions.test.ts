// Versions against a reference written independently from contract/README.md's grammar and
// order (string splitting and BigInt instead of the regex and Number): prerelease-heavy
// generators, leading zeros, long numbers, and version-alphabet noise. The order properties
// (reflexive, antisymmetric, transitive) live in test/contract/version.test.ts.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareVersions, parseVersion, VERSION_MAX_LENGTH } from '../../contract/version.ts'
import { fuzzParams, fuzzTimeout } from '../support/fuzz-params.ts'

interface RefVersion {
  core: bigint[]
  pre: string[]
}

const IDENT = /^[0-9A-Za-z-]+$/
const NUMERIC = /^[0-9]+$/

/** contract/README.md "Versions", read literally. */
function refParse(input: string): RefVersion | null {
  if (input.length === 0 || input.length > VERSION_MAX_LENGTH) return null
  let s = input[0] === 'v' || input[0] === 'V' ? input.slice(1) : input
  const plus = s.indexOf('+')
  if (plus !== -1) {
    const build = s.slice(plus + 1).split('.')
    if (!build.every((id) => IDENT.test(id))) return null
    s = s.slice(0, plus)
  }
  const dash = s.indexOf('-')
  const coreText = dash === -1 ? s : s.slice(0, dash)
  const pre = dash === -1 ? [] : s.slice(dash + 1).split('.')
  if (!pre.every((id) => IDENT.test(id))) return null
  // A numeric prerelease identifier is a number, bounded like the core's numbers.
  if (pre.some((id) => NUMERIC.test(id) && id.length > 15)) return null
  const core = coreText.split('.')
  if (core.length < 2 || core.length > 8) return null
  if (!core.every((n) => NUMERIC.test(n) && n.length <= 15)) return null
  return { core: core.map(BigInt), pre }
}

function refCompare(a: RefVersion, b: RefVersion): number {
  for (let i = 0; i < Math.max(a.core.length, b.core.length); i++) {
    const x = a.core[i] ?? 0n
    const y = b.core[i] ?? 0n
    if (x !== y) return x < y ? -1 : 1
  }
  if (a.pre.length === 0 || b.pre.length === 0) return Math.sign(b.pre.length - a.pre.length)
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i]!
    const y = b.pre[i]!
    const xn = NUMERIC.test(x)
    const yn = NUMERIC.test(y)
    if (xn && yn) {
      if (BigInt(x) !== BigInt(y)) return BigInt(x) < BigInt(y) ? -1 : 1
    } else if (xn !== yn) {
      return xn ? -1 : 1
    } else if (x !== y) {
      // ASCII order, byte by byte.
      return Buffer.compare(Buffer.from(x, 'ascii'), Buffer.from(y, 'ascii'))
    }
  }
  return Math.sign(a.pre.length - b.pre.length)
}

// Numbers as text: small, with leading zeros, up to and past 15 digits, and the places where
// a double stops counting integers exactly.
const digits15 = fc.oneof(
  fc.nat({ max: 20 }).map(String),
  fc.nat({ max: 99_999 }).map(String),
  fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 999 })).map(([z, n]) => '0'.repeat(z) + n),
  fc.bigInt({ min: 10n ** 13n, max: 10n ** 15n - 1n }).map(String),
  fc.constantFrom('999999999999999', '000000000000001'),
)
const digits = fc.oneof(
  { weight: 8, arbitrary: digits15 },
  fc.constantFrom('9007199254740992', '9007199254740993', '99999999999999999999', '100000000000000000000', '0000000000000001'),
)
const alnum = fc.oneof(
  fc.stringMatching(/^[a-z]{1,6}$/),
  fc.constantFrom('alpha', 'beta', 'rc', 'RC', 'Beta', '-', '--', '0a', '1-2', 'a-', 'Z', 'z'),
  fc.stringMatching(/^[0-9A-Za-z-]{1,8}$/),
)
/** Version texts; with `num = digits` some are out of bounds (16+ digit numbers). */
const versionOf = (num: fc.Arbitrary<string>) =>
  fc
    .record({
      v: fc.constantFrom('', '', 'v', 'V'),
      core: fc.array(num, { minLength: 2, maxLength: 8 }),
      pre: fc.array(fc.oneof({ weight: 2, arbitrary: num }, { weight: 3, arbitrary: alnum }), { maxLength: 5 }),
      build: fc.array(fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/), { maxLength: 2 }),
    })
    .map(({ v, core, pre, build }) => `${v}${core.join('.')}${pre.length ? '-' + pre.join('.') : ''}${build.length ? '+' + build.join('.') : ''}`)
const versionText = versionOf(digits)
// In bounds except, rarely, for the length limit.
const validText = versionOf(digits15)

// Near-versions: the same alphabet shuffled (dots, dashes, pluses in odd places).
const noise = fc.string({ unit: fc.constantFrom(...'0123456789.-+vVab'.split('')), maxLength: 24 })

describe('versions against the reference', () => {
  it(
    'accepts exactly what the grammar describes',
    () => {
      fc.assert(
        fc.property(fc.oneof(versionText, noise), (s) => {
          expect(parseVersion(s) !== null, s).toBe(refParse(s) !== null)
        }),
        fuzzParams(3),
      )
    },
    fuzzTimeout(0.2, 3),
  )

  it(
    'orders every pair as the reference does (prerelease-heavy)',
    () => {
      fc.assert(
        fc.property(validText, validText, (a, b) => {
          const ra = refParse(a)
          const rb = refParse(b)
          fc.pre(ra !== null && rb !== null)
          expect(compareVersions(a, b), `${a} vs ${b}`).toBe(refCompare(ra!, rb!))
        }),
        fuzzParams(3),
      )
    },
    fuzzTimeout(0.3, 3),
  )

  it(
    'sorts a list as the reference sorts it (by components)',
    () => {
      fc.assert(
        fc.property(fc.array(validText, { maxLength: 30 }), (list) => {
          const valid = list.filter((s) => refParse(s) !== null)
          const ours = [...valid].sort(compareVersions)
          const ref = [...valid].sort((x, y) => refCompare(refParse(x)!, refParse(y)!))
          // Equal versions may keep either order: compare the sequences of equivalence classes.
          expect(ours.map((s, i) => refCompare(refParse(s)!, refParse(ref[i]!)!))).toEqual(ours.map(() => 0))
        }),
        fuzzParams(),
      )
    },
    fuzzTimeout(1),
  )

  it(
    'ignores a v prefix and build metadata, and equal versions have equal canonical cores',
    () => {
      fc.assert(
        fc.property(validText, fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/), (s, build) => {
          fc.pre(refParse(s) !== null && s.length < VERSION_MAX_LENGTH - 10)
          const bare = s.replace(/^[vV]/, '').replace(/\+.*$/, '')
          expect(compareVersions(s, `v${bare}+${build}`)).toBe(0)
          expect(parseVersion(s)!.text).toBe(s.replace(/^[vV]/, ''))
        }),
        fuzzParams(2),
      )
    },
    fuzzTimeout(0.2, 2),
  )
})
