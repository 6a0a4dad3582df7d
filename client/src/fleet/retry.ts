// When a failed fleet report is tried again, as pure functions: the daemon's backoff after a
// failure (30 s, 1 min, 2 min, … up to an hour) and the broker's own `Retry-After` on a 429,
// which every sender respects. A new event is sent at once whatever the backoff says; only the
// broker's hold stops it.
import { FLEET_REPORT_SCHEMA_VERSION, type FleetReportSchemaVersion } from '../../../contract/fleet.ts'
import { EMPTY_SEND_STATE, type SchemaFallback, type SendState } from './queue.ts'

export const FIRST_RETRY_MS = 30_000
export const MAX_RETRY_MS = 60 * 60_000
/** A Retry-After longer than this is taken as this (a broker's mistake must not silence a host for days). */
export const MAX_HOLD_MS = 24 * 60 * 60_000

export function retryDelayMs(failures: number): number {
  const n = Math.max(1, failures)
  return Math.min(FIRST_RETRY_MS * 2 ** Math.min(n - 1, 20), MAX_RETRY_MS)
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `now`; null when absent or not understood. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined) return null
  const text = value.trim()
  if (/^\d{1,10}$/.test(text)) return Math.min(Number(text) * 1000, MAX_HOLD_MS)
  const at = Date.parse(text)
  if (Number.isNaN(at)) return null
  return Math.min(Math.max(at - now, 0), MAX_HOLD_MS)
}

const iso = (ms: number) => new Date(ms).toISOString()
const ms = (text: string | null) => (text === null ? null : Date.parse(text))

/**
 * The send state after a send that the broker did not take: the backoff, or, when the broker
 * said when to come back (429 Retry-After), exactly that time, before which nobody sends.
 */
export function afterFailure(prev: SendState, now: number, holdMs: number | null): SendState {
  const failures = prev.failures + 1
  if (holdMs !== null) return { failures, retry_at: iso(now + holdMs), hold_until: iso(now + holdMs) }
  return { failures, retry_at: iso(now + retryDelayMs(failures)), hold_until: null }
}

export function afterSuccess(): SendState {
  return { ...EMPTY_SEND_STATE }
}

/** The broker asked not to send before this time (ms), or null. */
export function heldUntil(s: SendState, now: number): number | null {
  const hold = ms(s.hold_until)
  return hold !== null && !Number.isNaN(hold) && hold > now ? hold : null
}

/** When the daemon should try again: now (null) or a time in ms. */
export function retryDue(s: SendState, now: number): number | null {
  const at = Math.max(ms(s.retry_at) ?? 0, ms(s.hold_until) ?? 0)
  return !Number.isNaN(at) && at > now ? at : null
}

/**
 * How long a broker's refusal of the newest report schema is remembered: that long it gets the
 * older bodies, then the newest is tried again (one refused request a day, should it still be old).
 */
export const SCHEMA_FALLBACK_MS = 24 * 60 * 60_000

/** The schema reports go out with now: the remembered fallback while it lasts, else the newest. */
export function reportSchema(fallback: SchemaFallback | undefined, now: number): FleetReportSchemaVersion {
  const until = fallback ? Date.parse(fallback.until) : Number.NaN
  return fallback && until > now ? fallback.schema : FLEET_REPORT_SCHEMA_VERSION
}

export function schemaFallback(schema: FleetReportSchemaVersion, now: number): SchemaFallback {
  return { schema, until: iso(now + SCHEMA_FALLBACK_MS) }
}
