// Fleet reports for one cco process (client/README.md, "Fleet reports"): when `fleet.report` is
// on, each check, install, rollback and health verdict is queued (queue.ts) with the host's
// state after it, and the queue is sent to the broker's `POST /v1/reports` right after the
// event, through the same proxy and CA settings as updates, within SEND_TIMEOUT_MS. Reporting
// never delays an update beyond that, never fails one and never changes an exit code: every
// problem here is at most a warning, and what was not sent stays queued for the daemon's retries.
import { FLEET_MAX_CHECK_INTERVAL_S, FLEET_MIN_CHECK_INTERVAL_S } from '../../../contract/fleet.ts'
import { PRODUCT, type Channel } from '../../../contract/manifest.ts'
import { checkIntervalMs, type Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { messageOf } from '../errors.ts'
import { envValue } from '../system/env.ts'
import { ensureHostId } from '../system/host-id.ts'
import { createHttpClient } from '../system/http.ts'
import type { EventFacts } from './events.ts'
import { appendEvents, newEvent, queueFile, readQueue, settleEvents, type HostSnapshot, type QueueState, type SchemaFallback, type SendState } from './queue.ts'
import { buildReports, type BuiltReports, type ReportIdentity } from './report-body.ts'
import { afterFailure, afterSuccess, heldUntil, reportSchema, retryDue, schemaFallback } from './retry.ts'
import { postReport, SEND_TIMEOUT_MS } from './send.ts'

export const FLEET_TOKEN_ENV = 'CCO_FLEET_TOKEN'

/** The fleet token: CCO_FLEET_TOKEN wins over `fleet.token`. Never printed or logged. */
export function fleetToken(app: Pick<AppContext, 'env'>, config: Config): string | null {
  return envValue(app.env, FLEET_TOKEN_ENV)?.trim() || config.fleet.token || null
}

/** The check interval a report states: the schedule in seconds, within the contract's bounds; no schedule reports the longest. */
export function reportedIntervalS(config: Config): number {
  const ms = config.updates.enabled ? checkIntervalMs(config.updates.check_interval) : null
  if (ms === null || ms === undefined) return FLEET_MAX_CHECK_INTERVAL_S
  return Math.min(Math.max(Math.round(ms / 1000), FLEET_MIN_CHECK_INTERVAL_S), FLEET_MAX_CHECK_INTERVAL_S)
}

export type SendResult =
  | { kind: 'off' }
  | { kind: 'no-token'; pending: number }
  /** Nothing queued. */
  | { kind: 'empty' }
  /** Not tried: the daemon's backoff (`retryAt`) or the broker's hold (`held`) is not over. */
  | { kind: 'waiting'; pending: number; retryAt: number; held: boolean }
  | { kind: 'sent'; sent: number; accepted: number; duplicates: number; dropped: number; pending: number }
  /** Some or none sent; the rest stays queued until `retryAt`. */
  | { kind: 'failed'; sent: number; dropped: number; pending: number; retryAt: number; why: string; held: boolean }
  /** The queue itself could not be read or written. */
  | { kind: 'queue-error'; why: string }

export interface SendOptions {
  /** Wait for the daemon's backoff (its retries); without it only the broker's hold is respected. */
  respectBackoff?: boolean
  timeoutMs?: number
}

export interface FleetReporter {
  readonly enabled: boolean
  /**
   * Queues one event with the version the host runs after it (`facts` null: nothing the contract
   * can say, nothing queued). Never throws; a queue that cannot be written is a warning.
   */
  record(facts: EventFacts | null, runningVersion: string): Promise<void>
  /** Sends the queue now. Never throws; a failure is a warning at most (`quiet`: not even that). */
  send(o?: SendOptions & { quiet?: boolean }): Promise<SendResult>
  /** The bodies a send would post now, without sending or changing anything (`cco fleet report --dry-run`). */
  preview(): BuiltReports & { pending: number }
}

export interface ReporterOptions {
  /** The channel of this run (`cco update --channel beta`), else `updates.channel`. */
  channel?: Channel
}

/** The reporter of a process; a no-op unless `fleet.report` is true. */
export function fleetReporter(app: AppContext, config: Config, o: ReporterOptions = {}): FleetReporter {
  const stateDir = app.paths.stateDir
  const channel = o.channel ?? config.updates.channel
  const enabled = config.fleet.report
  const warn = (message: string) => app.logger.warn(`warning: fleet report: ${message}`)

  const snapshot = (version: string): HostSnapshot => ({ version, channel, platform: app.platform, check_interval_s: reportedIntervalS(config) })

  const identity = (): ReportIdentity => ({
    product: PRODUCT,
    host_id: ensureHostId(app.paths.hostIdFile),
    ...(config.fleet.name ? { name: config.fleet.name } : {}),
    labels: config.fleet.labels,
  })

  async function record(facts: EventFacts | null, runningVersion: string): Promise<void> {
    if (!enabled || facts === null) return
    try {
      await appendEvents(stateDir, [{ event: newEvent(facts, app.clock.now()), host: snapshot(runningVersion) }])
    } catch (err) {
      warn(`could not queue the ${facts.kind} event: ${messageOf(err)}`)
    }
  }

  function preview(): BuiltReports & { pending: number } {
    const read = readQueue(queueFile(stateDir))
    if (read.kind === 'refused') throw new Error(`cannot read the fleet report queue: ${read.reason}`)
    const schema = reportSchema(read.state.fallback, app.clock.now().getTime())
    return { ...buildReports(identity(), read.state.events, schema), pending: read.state.events.length }
  }

  async function send(opts: SendOptions & { quiet?: boolean } = {}): Promise<SendResult> {
    if (!enabled) return { kind: 'off' }
    const say = (message: string) => {
      if (!opts.quiet) warn(message)
    }
    try {
      return await sendQueue(opts, say)
    } catch (err) {
      say(messageOf(err))
      return { kind: 'queue-error', why: messageOf(err) }
    }
  }

  async function sendQueue(opts: SendOptions, say: (m: string) => void): Promise<SendResult> {
    const read = readQueue(queueFile(stateDir))
    if (read.kind === 'refused') throw new Error(`cannot read the fleet report queue: ${read.reason}`)
    const queued: QueueState = read.state
    if (queued.events.length === 0) return { kind: 'empty' }
    const token = fleetToken(app, config)
    if (!token) {
      say(`fleet.report is true but there is no fleet token (set fleet.token or ${FLEET_TOKEN_ENV}); ${queued.events.length} event(s) stay queued`)
      return { kind: 'no-token', pending: queued.events.length }
    }
    // Only visible ASCII fits in a header; saying which character would leak part of the token.
    if (!/^[\x21-\x7e]{1,1024}$/.test(token)) {
      say(`${FLEET_TOKEN_ENV} contains spaces or characters that cannot be sent in a header; ${queued.events.length} event(s) stay queued`)
      return { kind: 'no-token', pending: queued.events.length }
    }
    const now = app.clock.now().getTime()
    const held = heldUntil(queued.send, now)
    const due = opts.respectBackoff ? retryDue(queued.send, now) : held
    if (due !== null) return { kind: 'waiting', pending: queued.events.length, retryAt: due, held: held !== null }

    const schema = reportSchema(queued.fallback, now)
    // A fallback that has run out is forgotten once this send is settled (undefined: unchanged).
    let fallback: SchemaFallback | null | undefined = queued.fallback && schema !== queued.fallback.schema ? null : undefined
    const built = buildReports(identity(), queued.events, schema)
    const settled = new Set(built.unsendable.map((u) => u.id))
    for (const u of built.unsendable) say(`dropping queued event ${u.id}: ${u.reason}`)
    let batches = built.batches
    let sent = 0
    let accepted = 0
    let duplicates = 0
    let dropped = built.unsendable.length
    let failure: { why: string; holdMs: number | null } | null = null
    const http = createHttpClient({
      env: app.env,
      userAgent: `cco/${app.version}`,
      proxy: config.network.proxy,
      noProxy: config.network.no_proxy,
      caFile: config.network.ca_file,
      connectTimeoutMs: opts.timeoutMs ?? SEND_TIMEOUT_MS,
    })
    try {
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i]!
        const out = await postReport(http, config.updates.server, token, batch.text, { timeoutMs: opts.timeoutMs, now: () => app.clock.now().getTime() })
        if (out.kind === 'accepted') {
          for (const id of batch.ids) settled.add(id)
          sent += batch.ids.length
          accepted += out.accepted
          duplicates += out.duplicates
          continue
        }
        if (out.kind === 'rejected' && out.schemaRefused && batch.body.schema > 1) {
          // An older broker: what is left goes again as schema 1 (without `download`), and keeps
          // going that way for a while (SCHEMA_FALLBACK_MS) instead of being refused first each time.
          fallback = schemaFallback(1, app.clock.now().getTime())
          const rest = queued.events.filter((e) => !settled.has(e.event.id))
          const rebuilt = buildReports(identity(), rest, fallback.schema)
          for (const u of rebuilt.unsendable) {
            say(`dropping queued event ${u.id}: ${u.reason}`)
            settled.add(u.id)
          }
          dropped += rebuilt.unsendable.length
          batches = rebuilt.batches
          i = -1
          continue
        }
        if (out.kind === 'rejected') {
          // Sending these again would be refused again: drop them, keep going with the rest.
          say(`the broker refused ${batch.ids.length} event(s), dropped: ${out.why}`)
          for (const id of batch.ids) settled.add(id)
          dropped += batch.ids.length
          continue
        }
        failure = { why: out.why, holdMs: out.kind === 'hold' ? out.holdMs : null }
        break
      }
    } finally {
      await http.close().catch(() => {})
    }
    const after = app.clock.now().getTime()
    const nextSend: SendState = failure ? afterFailure(queued.send, after, failure.holdMs) : afterSuccess()
    const state = await settleEvents(stateDir, settled, nextSend, fallback)
    const pending = state.events.length
    if (!failure) return { kind: 'sent', sent, accepted, duplicates, dropped, pending }
    const retryAt = Date.parse(nextSend.retry_at!)
    say(`not sent (${failure.why}); ${pending} event(s) stay queued, next try after ${nextSend.retry_at}`)
    return { kind: 'failed', sent, dropped, pending, retryAt, why: failure.why, held: failure.holdMs !== null }
  }

  return { enabled, record, send, preview }
}
