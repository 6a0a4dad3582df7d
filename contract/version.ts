// Version parsing and ordering shared by the broker and the client (contract/README.md).
//
// A version is a dotted numeric core (`2026.11.3`, `1.2`, CalVer or SemVer alike) with an
// optional `-prerelease` and an optional `+build`. Tags may carry a leading `v`. Ordering is
// numeric per core component (missing components count as 0), a prerelease sorts below its
// release (SemVer §11 rules for the identifiers), and build metadata is ignored.

export interface Version {
  /** The canonical text: the input without a leading `v`. */
  readonly text: string
  readonly core: readonly number[]
  readonly prerelease: readonly (string | number)[]
  readonly build: string
}

/** Longest version text we accept; anything longer is not a version. */
export const VERSION_MAX_LENGTH = 128
const MAX_CORE_COMPONENTS = 8

const IDENT = '[0-9A-Za-z-]+'
const VERSION_RE = new RegExp(
  `^[vV]?(\\d{1,15}(?:\\.\\d{1,15}){1,${MAX_CORE_COMPONENTS - 1}})` +
    `(?:-(${IDENT}(?:\\.${IDENT})*))?` +
    `(?:\\+(${IDENT}(?:\\.${IDENT})*))?$`,
)

/** Parses a version or a tag (`v2026.11.3`); returns null for anything that is not one. */
export function parseVersion(input: string): Version | null {
  if (typeof input !== 'string' || input.length === 0 || input.length > VERSION_MAX_LENGTH) return null
  const m = VERSION_RE.exec(input)
  if (!m) return null
  const [, core, pre, build] = m as unknown as [string, string, string | undefined, string | undefined]
  // Numeric prerelease identifiers are compared as numbers, so they are bounded like the core's
  // (15 digits): past 2^53 two different identifiers would become the same number.
  if (pre !== undefined && /(?:^|\.)\d{16,}(?:\.|$)/.test(pre)) return null
  return {
    text: input.replace(/^[vV]/, ''),
    core: core.split('.').map(Number),
    prerelease: pre === undefined ? [] : pre.split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id)),
    build: build ?? '',
  }
}

export function isVersion(input: string): boolean {
  return parseVersion(input) !== null
}

/** Parses or throws; for values that were validated before (schemas, stored rows). */
export function mustParseVersion(input: string): Version {
  const v = parseVersion(input)
  if (!v) throw new TypeError(`not a version: ${JSON.stringify(input)}`)
  return v
}

function compareIdentifiers(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.sign(a - b)
  if (typeof a === 'number') return -1 // numeric identifiers sort below alphanumeric ones
  if (typeof b === 'number') return 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** Total order on versions: -1, 0 or 1. Accepts parsed versions or version/tag strings. */
export function compareVersions(left: Version | string, right: Version | string): -1 | 0 | 1 {
  const a = typeof left === 'string' ? mustParseVersion(left) : left
  const b = typeof right === 'string' ? mustParseVersion(right) : right
  const n = Math.max(a.core.length, b.core.length)
  for (let i = 0; i < n; i++) {
    const d = (a.core[i] ?? 0) - (b.core[i] ?? 0)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  // A version without prerelease identifiers is higher than one with them.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    const d = b.prerelease.length - a.prerelease.length
    return d === 0 ? 0 : d < 0 ? -1 : 1
  }
  const m = Math.max(a.prerelease.length, b.prerelease.length)
  for (let i = 0; i < m; i++) {
    const x = a.prerelease[i]
    const y = b.prerelease[i]
    if (x === undefined) return -1 // a shorter set of identifiers sorts first
    if (y === undefined) return 1
    const d = compareIdentifiers(x, y)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return 0
}

/**
 * The version's identity: two versions have the same key exactly when `compareVersions` calls
 * them equal. The core without trailing zero components (at least one), numbers in plain
 * decimal, the prerelease identifiers as compared, no build metadata:
 * `v1.2.0+rebuild`, `1.2`, `01.2.0.0` → `1.2`; `1.2.0-rc.01` → `1.2-rc.1`.
 */
export function versionKey(v: Version | string): string {
  const p = typeof v === 'string' ? mustParseVersion(v) : v
  let end = p.core.length
  while (end > 1 && p.core[end - 1] === 0) end--
  const core = p.core.slice(0, end).join('.')
  return p.prerelease.length === 0 ? core : `${core}-${p.prerelease.join('.')}`
}

/**
 * Whether two strings name the same version (`compareVersions` = 0). Text that is not a
 * version (a tag like `nightly`) is the same only as the identical text.
 */
export function sameVersion(a: string, b: string): boolean {
  const x = parseVersion(a)
  const y = parseVersion(b)
  if (x && y) return compareVersions(x, y) === 0
  return x === null && y === null && a === b
}

/**
 * The identity of a release's version text for storage and lookups: its `versionKey`, or for
 * text that is not a version (a refused tag like `nightly`), the text itself behind a `#`, which
 * no key contains, so it only ever equals itself.
 */
export function versionIdentity(text: string): string {
  const v = parseVersion(text)
  return v ? versionKey(v) : `#${text}`
}

export function isPrerelease(v: Version | string): boolean {
  return (typeof v === 'string' ? mustParseVersion(v) : v).prerelease.length > 0
}

/** The highest of the given versions (strings), or undefined for an empty list. */
export function maxVersion<T extends string>(versions: Iterable<T>): T | undefined {
  let best: T | undefined
  for (const v of versions) if (best === undefined || compareVersions(v, best) > 0) best = v
  return best
}
