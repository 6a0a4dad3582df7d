// One `POST /v1/reports` (contract/fleet.ts) through the client's HTTP stack (proxy, CA bundle,
// https or loopback http only, no redirects followed, so the token goes only where it was meant
// to), within a short deadline. Never throws: every way it can end is an outcome the reporter
// turns into the queue's next state. The token is sent only as `Authorization: Bearer` and is
// in no message.
import { FleetAccepted } from '../../../contract/fleet.ts'
import { Accepted } from '../../../contract/api.ts'
import { messageOf } from '../errors.ts'
import { readBodyCapped, type HttpClient } from '../system/http.ts'
import { redactUrl } from '../system/url-policy.ts'
import { retryAfterMs } from './retry.ts'

/** A report is sent within this time or counted as failed (it stays queued). */
export const SEND_TIMEOUT_MS = 5_000
const MAX_ANSWER_BYTES = 64 * 1024

export type SendOutcome =
  | { kind: 'accepted'; accepted: number; duplicates: number }
  /** 429: not before `holdMs` from now. */
  | { kind: 'hold'; holdMs: number; why: string }
  /** Network, timeout, 5xx, 401, 404 (reports off), anything unexpected: try again later. */
  | { kind: 'retry'; why: string }
  /**
   * 400, 413, 422: the broker will never take these events; they are dropped. `schemaRefused`:
   * a 422 naming `schema`, an older broker that does not know this body's number (sent again
   * as schema 1 by the reporter).
   */
  | { kind: 'rejected'; why: string; schemaRefused: boolean }

export function reportsUrl(server: string): URL {
  const base = new URL(server)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return new URL('v1/reports', base)
}

/** The broker's error answer, when it is one. */
function errorOf(text: string): { code: string; message: string } | null {
  try {
    const parsed = Accepted.ErrorBody.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data.error
  } catch {}
  return null
}

/** `HTTP 503 unavailable: the broker's message` from an error answer (the broker's words, escaped when printed). */
function refusal(status: number, text: string): string {
  const error = errorOf(text)
  return error ? `HTTP ${status} ${error.code}: ${error.message}` : `HTTP ${status}`
}

/** A broker names the field it refuses first (`schema: must be 1`): this one refused the body's number. */
function refusedSchema(status: number, text: string): boolean {
  const error = errorOf(text)
  return status === 422 && error !== null && /^(?:body\.)?schema: /.test(error.message)
}

export async function postReport(http: HttpClient, server: string, token: string, text: string, o: { timeoutMs?: number; now?: () => number } = {}): Promise<SendOutcome> {
  let url: URL
  try {
    url = reportsUrl(server)
  } catch (err) {
    return { kind: 'retry', why: `updates.server is not a URL: ${messageOf(err)}` }
  }
  const where = redactUrl(url)
  try {
    const res = await http.send(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: text,
      signal: AbortSignal.timeout(o.timeoutMs ?? SEND_TIMEOUT_MS),
    })
    const answer = (await readBodyCapped(res.body, MAX_ANSWER_BYTES, () => new Error('answer too large'))).toString('utf8')
    if (res.status === 202 || res.status === 200) {
      let json: unknown = null
      try {
        json = JSON.parse(answer)
      } catch {}
      const parsed = FleetAccepted.ReportAccepted.safeParse(json)
      // A 2xx is the broker's word that it has the events; the counts are only for the message.
      return parsed.success ? { kind: 'accepted', accepted: parsed.data.accepted, duplicates: parsed.data.duplicates } : { kind: 'accepted', accepted: 0, duplicates: 0 }
    }
    const why = `${refusal(res.status, answer)} from ${where}`
    if (res.status === 429) return { kind: 'hold', holdMs: retryAfterMs(res.headers['retry-after'], (o.now ?? Date.now)()) ?? 60_000, why }
    if (res.status === 400 || res.status === 413 || res.status === 422) return { kind: 'rejected', why, schemaRefused: refusedSchema(res.status, answer) }
    if (res.status === 401) return { kind: 'retry', why: `the broker refused the fleet token (${why}); check fleet.token or CCO_FLEET_TOKEN` }
    return { kind: 'retry', why }
  } catch (err) {
    return { kind: 'retry', why: messageOf(err) }
  }
}
