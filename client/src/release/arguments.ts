// Command-line arguments of `cco release …`, checked before anything is sent: with the
// contract's own request schemas, so a bad value gets the same rule the broker applies, as a
// usage error (exit 2) that needs neither a token nor the network.
import { parseLabelFilter, UUID_PATTERN } from '../../../contract/fleet.ts'
import { RampRequestSchema, type RampRequest } from '../../../contract/api.ts'
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

const SPAN_UNITS_S = { s: 1, m: 60, h: 3600, d: 86_400 } as const

/** `--every`: a span (`90s`, `30m`, `6h`, `1d`) or whole seconds, at least a minute. */
export function parseEvery(input: string): number {
  const m = /^\s*(\d{1,7})\s*([smhd]?)\s*$/.exec(input)
  if (!m) throw new UsageError(`invalid --every ${JSON.stringify(input)}: a span such as 30m, 6h or 1d (or whole seconds)`)
  return Number(m[1]) * SPAN_UNITS_S[(m[2] || 's') as keyof typeof SPAN_UNITS_S]
}

/** `--ramp 1,10,50,100 --every 6h`: a scheduled ramp, checked with the contract's rule (2–10 increasing percents, every ≥ 60 s). */
export function checkedRamp(steps: string, every: string | undefined): RampRequest {
  if (every === undefined) throw new UsageError('--ramp needs --every (how long each step lasts, e.g. 6h)')
  const parsed = steps.split(',').map((s) => parsePercent(s))
  return checkedBody(RampRequestSchema, { steps: parsed, every_s: parseEvery(every) }, '--ramp/--every')
}

/** A whole number of failed hosts (`--min-failures`). */
export function parseWhole(input: string, option: string): number {
  const n = /^\s*\d{1,9}\s*$/.test(input) ? Number(input) : NaN
  if (Number.isNaN(n)) throw new UsageError(`invalid ${option} ${JSON.stringify(input)}: a whole number`)
  return n
}

/** `5`, `2.5` or `5%`: a share from 0 to 100 (`--min-failure-percent`). */
export function parseShare(input: string, option: string): number {
  const m = /^\s*(\d{1,3}(?:\.\d{1,3})?)\s*%?\s*$/.exec(input)
  const n = m ? Number(m[1]) : NaN
  if (!(n >= 0 && n <= 100)) throw new UsageError(`invalid ${option} ${JSON.stringify(input)}: a number from 0 to 100`)
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
