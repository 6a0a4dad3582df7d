// Command-line arguments of `cco release …`, checked before anything is sent: with the
// contract's own request schemas, so a bad value gets the same rule the broker applies, as a
// usage error (exit 2) that needs neither a token nor the network.
import { firstIssue, type SchemaIssues } from '../../../contract/issues.ts'
import { parseVersion } from '../../../contract/version.ts'
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
