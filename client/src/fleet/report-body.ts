// The bodies of `POST /v1/reports` from the queue, as a pure function (contract/fleet.ts): the
// host's identity (random id, product, and the name and labels its owner configured), its state
// after the newest event of the body, and the events, oldest first, at most
// FLEET_REPORT_MAX_EVENTS and FLEET_REPORT_MAX_BYTES per body. Nothing else: no address, user
// name, path or host name can get in, because every body is built from these fields only and
// checked with the contract's strict schema before it leaves.
import { FLEET_REPORT_MAX_BYTES, FLEET_REPORT_MAX_EVENTS, FLEET_REPORT_SCHEMA_VERSION, FleetReportSchema, type FleetEvent, type FleetReport, type FleetReportSchemaVersion } from '../../../contract/fleet.ts'
import { firstIssueInWords } from '../../../contract/issues.ts'
import type { QueuedEvent } from './queue.ts'

export interface ReportIdentity {
  product: string
  host_id: string
  name?: string
  labels?: Readonly<Record<string, string>>
}

export interface ReportBatch {
  body: FleetReport
  /** The exact bytes to send (what `cco fleet report --dry-run` prints). */
  text: string
  ids: string[]
}

export interface BuiltReports {
  batches: ReportBatch[]
  /** Queued events no broker would accept (e.g. written by another cco), with the reason: dropped from the queue. */
  unsendable: { id: string; reason: string }[]
}

/** An event as a body of `schema` carries it: schema 1 has no `download`. */
function eventFor(schema: FleetReportSchemaVersion, e: FleetEvent): FleetEvent {
  if (schema >= 2 || e.download === undefined) return e
  const { download: _dropped, ...rest } = e
  return rest
}

function body(identity: ReportIdentity, entries: readonly QueuedEvent[], schema: FleetReportSchemaVersion): FleetReport {
  const host = entries[entries.length - 1]!.host
  const labels = identity.labels && Object.keys(identity.labels).length > 0 ? { labels: { ...identity.labels } } : {}
  return {
    schema,
    product: identity.product,
    host_id: identity.host_id,
    ...(identity.name ? { name: identity.name } : {}),
    ...labels,
    channel: host.channel,
    platform: host.platform,
    version: host.version,
    check_interval_s: host.check_interval_s,
    events: entries.map((e) => eventFor(schema, e.event)),
  }
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8')

/**
 * The bodies of `schema` (the newest by default; 1 for a broker that refused the newest, which
 * then gets the same events without `download`).
 */
export function buildReports(identity: ReportIdentity, queued: readonly QueuedEvent[], schema: FleetReportSchemaVersion = FLEET_REPORT_SCHEMA_VERSION): BuiltReports {
  const unsendable: BuiltReports['unsendable'] = []
  // Each event alone must make a valid body: then so does any run of them that fits the limits.
  const sendable = queued.filter((e) => {
    const alone = FleetReportSchema.safeParse(body(identity, [e], schema))
    if (!alone.success) unsendable.push({ id: e.event.id, reason: firstIssueInWords(alone.error, 'body') })
    return alone.success
  })
  const batches: ReportBatch[] = []
  let run: QueuedEvent[] = []
  const close = () => {
    if (run.length === 0) return
    const b = body(identity, run, schema)
    batches.push({ body: b, text: JSON.stringify(b), ids: run.map((e) => e.event.id) })
    run = []
  }
  for (const e of sendable) {
    const fits = run.length < FLEET_REPORT_MAX_EVENTS && bytes(JSON.stringify(body(identity, [...run, e], schema))) <= FLEET_REPORT_MAX_BYTES
    if (!fits) close()
    run.push(e)
  }
  close()
  return { batches, unsendable }
}
