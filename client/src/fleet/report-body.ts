// The bodies of `POST /v1/reports` from the queue, as a pure function (contract/fleet.ts): the
// host's identity (random id, product, and the name and labels its owner configured), its state
// after the newest event of the body, and the events, oldest first, at most
// FLEET_REPORT_MAX_EVENTS and FLEET_REPORT_MAX_BYTES per body. Nothing else: no address, user
// name, path or host name can get in, because every body is built from these fields only and
// checked with the contract's strict schema before it leaves.
import { FLEET_REPORT_MAX_BYTES, FLEET_REPORT_MAX_EVENTS, FLEET_REPORT_SCHEMA_VERSION, FleetReportSchema, type FleetReport } from '../../../contract/fleet.ts'
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

function body(identity: ReportIdentity, entries: readonly QueuedEvent[]): FleetReport {
  const host = entries[entries.length - 1]!.host
  const labels = identity.labels && Object.keys(identity.labels).length > 0 ? { labels: { ...identity.labels } } : {}
  return {
    schema: FLEET_REPORT_SCHEMA_VERSION,
    product: identity.product,
    host_id: identity.host_id,
    ...(identity.name ? { name: identity.name } : {}),
    ...labels,
    channel: host.channel,
    platform: host.platform,
    version: host.version,
    check_interval_s: host.check_interval_s,
    events: entries.map((e) => e.event),
  }
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8')

export function buildReports(identity: ReportIdentity, queued: readonly QueuedEvent[]): BuiltReports {
  const unsendable: BuiltReports['unsendable'] = []
  // Each event alone must make a valid body: then so does any run of them that fits the limits.
  const sendable = queued.filter((e) => {
    const alone = FleetReportSchema.safeParse(body(identity, [e]))
    if (!alone.success) unsendable.push({ id: e.event.id, reason: firstIssueInWords(alone.error, 'body') })
    return alone.success
  })
  const batches: ReportBatch[] = []
  let run: QueuedEvent[] = []
  const close = () => {
    if (run.length === 0) return
    const b = body(identity, run)
    batches.push({ body: b, text: JSON.stringify(b), ids: run.map((e) => e.event.id) })
    run = []
  }
  for (const e of sendable) {
    const fits = run.length < FLEET_REPORT_MAX_EVENTS && bytes(JSON.stringify(body(identity, [...run, e]))) <= FLEET_REPORT_MAX_BYTES
    if (!fits) close()
    run.push(e)
  }
  close()
  return { batches, unsendable }
}
