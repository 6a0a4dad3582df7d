// Command-line arguments of `cco release …`, checked before anything is sent: with the
// contract's own request schemas, so a bad value gets the same rule the broker applies, as a
// usage error (exit 2) that needs neither a token nor the network.
import { parseLabelFilter, UUID_PATTERN } from '../../../contract/fleet.ts'
import { firstIssue, type SchemaIssues } from '../../../contract/issues.ts'
import { parseVersion, VERSION_MAX_LENGTH } from '../../../contract/version.ts'
import { UsageError } from '../errors.ts'

/** A version or tag (`v2026.11.3` → `2026.11.3`). */
export function checkedVersion(input: string): string {
  const v = parseVersion(input)
  if (!v) throw new UsageError(`not a version: ${JSON.stringify(input)} (expected e.g. 2026.11.3 or 2026.11.3-beta.1)`)
  return v.text
}

/** `25` or `25%`: a whole number from 0 to 100. */
export function parsePercent(input: string): number {
  const m = /^\s*(\d{1,3})\s*%?\s*$/.exec(input)
  const n = m ? Number(m[1]) : NaN
  if (!(n >= 0 && n <= 100)) throw new UsageError(`invalid percent ${JSON.stringify(input)}: a whole number from 0 to 100`)
  return n
}

/** A positive whole number (`-n`, `--before`, `--releases`). */
export function parseCount(input: string, option: string): number {
  const n = /^\d{1,9}$/.test(input.trim()) ? Number(input.trim()) : NaN
  if (!(n >= 1)) throw new UsageError(`invalid ${option} ${JSON.stringify(input)}: a whole number of at least 1`)
  return n
}

interface SafeParser<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: SchemaIssues }
}

/** The request body, validated by its contract schema; `option` names the flag in messages. */
export function checkedBody<T>(schema: SafeParser<T>, body: unknown, option?: string): T {
  const parsed = schema.safeParse(body)
  if (parsed.success) return parsed.data
  // `invalid --reason: …` names the flag the value came from; without one, the field.
  if (option) throw new UsageError(`invalid ${option}: ${parsed.error.issues[0]?.message ?? 'not accepted'}`)
  throw new UsageError(`invalid ${firstIssue(parsed.error, 'request')}`)
}

/** `--label key=value`: a label as hosts report it (contract/fleet.ts). */
export function checkedLabelFilter(input: string): string {
  if (parseLabelFilter(input) === null) {
    throw new UsageError(`invalid --label ${JSON.stringify(input)}: must be key=value, a label as hosts report it (key: 1–32 of a-z, 0-9, _ . -; value: 1–64 printable characters)`)
  }
  return input
}

/** `--version V` of the fleet views: the text hosts report (any spelling of a version matches it). */
export function checkedVersionFilter(input: string): string {
  const text = input.trim()
  if (text.length === 0 || text.length > VERSION_MAX_LENGTH) throw new UsageError(`invalid --version ${JSON.stringify(input)}: 1–${VERSION_MAX_LENGTH} characters`)
  return text
}

/** `--host ID`: a host id as hosts report it (a lowercase UUID, as `cco release fleet hosts` shows). */
export function checkedHostId(input: string): string {
  const id = input.trim().toLowerCase()
  if (!UUID_PATTERN.test(id)) throw new UsageError(`invalid --host ${JSON.stringify(input)}: a host id is a UUID (the HOST column of cco release fleet hosts)`)
  return id
}

const SINCE_UNITS_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `--since`: an ISO 8601 time with a zone (`2026-11-20T10:00:00Z`), or a span back from now (`30m`, `24h`, `7d`). */
export function checkedSince(input: string, now: Date): string {
  const span = /^(\d{1,5})([mhd])$/.exec(input.trim())
  if (span) return new Date(now.getTime() - Number(span[1]) * SINCE_UNITS_MS[span[2] as keyof typeof SINCE_UNITS_MS]).toISOString()
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(input.trim()) || Number.isNaN(Date.parse(input))) {
    throw new UsageError(`invalid --since ${JSON.stringify(input)}: an ISO 8601 time with a zone (2026-11-20T10:00:00Z) or a span back from now (30m, 24h, 7d)`)
  }
  // The same instant in the one spelling the broker's filter takes.
  return new Date(Date.parse(input)).toISOString()
}
