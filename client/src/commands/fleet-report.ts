// `cco fleet report [--dry-run]`: send the fleet report queue now, or show exactly the bodies a
// send would post (the queue's pending events), without sending or changing anything.
import type { FleetReport } from '../../../contract/fleet.ts'
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { CliError, ExitCode, NetworkError, UsageError } from '../errors.ts'
import { FLEET_TOKEN_ENV, fleetReporter } from '../fleet/reporter.ts'
import { redactUrl } from '../system/url-policy.ts'

export interface FleetReportOptions {
  dryRun: boolean
}

export type FleetReportResult =
  | {
      dry_run: true
      /** The bodies in the order they would be posted (more than one past 50 events or 16 KiB). */
      reports: FleetReport[]
      /** Exactly the bytes of each body. */
      texts: string[]
      pending: number
      /** Queued events no broker would take: a send drops them. */
      unsendable: { id: string; reason: string }[]
    }
  | { dry_run: false; server: string; sent: number; accepted: number; duplicates: number; dropped: number; pending: number }

export async function fleetReportCommand(app: AppContext, o: FleetReportOptions): Promise<FleetReportResult> {
  const { config } = loadConfig(app.paths.configFile)
  const server = redactUrl(config.updates.server)
  if (o.dryRun) {
    // Shown whatever fleet.report says: what would be sent is worth seeing before turning it on.
    const preview = fleetReporter(app, { ...config, fleet: { ...config.fleet, report: true } }).preview()
    return {
      dry_run: true,
      reports: preview.batches.map((b) => b.body),
      texts: preview.batches.map((b) => b.text),
      pending: preview.pending,
      unsendable: preview.unsendable,
    }
  }
  if (!config.fleet.report) throw new UsageError('fleet reports are off (fleet.report = false); turn them on with `cco config set fleet.report true`')
  const r = await fleetReporter(app, config).send({ quiet: true })
  switch (r.kind) {
    case 'off':
    case 'empty':
      return { dry_run: false, server, sent: 0, accepted: 0, duplicates: 0, dropped: 0, pending: 0 }
    case 'sent':
      return { dry_run: false, server, sent: r.sent, accepted: r.accepted, duplicates: r.duplicates, dropped: r.dropped, pending: r.pending }
    case 'no-token':
      throw new UsageError(`no usable fleet token: set fleet.token (cco config set fleet.token TOKEN) or ${FLEET_TOKEN_ENV}; ${r.pending} event(s) stay queued`)
    case 'waiting':
      throw new NetworkError(`not sent: the broker asked to wait until ${new Date(r.retryAt).toISOString()} (HTTP 429 Retry-After); ${r.pending} event(s) stay queued`)
    case 'failed':
      throw new NetworkError(`not sent to ${server}: ${r.why}; ${r.pending} event(s) stay queued${r.sent ? ` (${r.sent} sent before that)` : ''}`)
    case 'queue-error':
      throw new CliError(r.why, ExitCode.failure)
  }
}
