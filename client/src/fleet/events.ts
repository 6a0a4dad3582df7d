// The events of a fleet report as pure functions of what happened (client/README.md, "Fleet
// reports"): a check's decision, an install, a rollback, a health verdict, or the error that
// ended one. Each returns the event without its id and time (the queue adds both), or null when
// the contract has no outcome for it.
import { FLEET_DOWNLOAD_MAX_BYTES, type FleetDownload, type FleetEvent } from '../../../contract/fleet.ts'
import { isVersion } from '../../../contract/version.ts'
import type { Decision } from '../update/decide.ts'
import type { Transfer } from '../update/transfer.ts'
import { failureClassOf } from './error-class.ts'

/** An event before it is queued: the queue gives it its id (stable across retries) and time. */
export type EventFacts = Omit<FleetEvent, 'id' | 'at'>

/** `from`/`to` only when they are versions (a hand-made build's version is not one). */
function versions(from: string | null | undefined, to: string | null | undefined): Pick<EventFacts, 'from' | 'to'> {
  return {
    ...(from && isVersion(from) ? { from } : {}),
    ...(to && isVersion(to) ? { to } : {}),
  }
}

/**
 * A completed check that installed nothing (callers report an install with `installEvent`). A
 * release this host should install but did not (`--check`, a declined prompt, `auto_install =
 * false`, a version rolled back before) is `available`, with its version.
 */
export function checkEvent(d: Decision, o: { exitCode?: number } = {}): EventFacts | null {
  const exit = o.exitCode ? { exit_code: o.exitCode } : {}
  if (d.kind === 'install') return isVersion(d.version) ? { kind: 'check', outcome: 'available', ...versions(null, d.version), ...exit } : null
  if (d.kind === 'no-asset') return { kind: 'check', outcome: 'no-asset', ...versions(null, d.version), ...exit }
  const outcome = d.why === 'halted' ? 'halted' : d.why === 'not-in-rollout' ? 'not-in-rollout' : 'up-to-date'
  return { kind: 'check', outcome, ...exit }
}

/** A check that failed before it decided anything (broker unreachable, manifest refused, lock held). */
export function checkFailedEvent(err: unknown): EventFacts {
  return { kind: 'check', outcome: 'failed', ...failureClassOf(err) }
}

/**
 * An install of `to` over `from`; null when `to` is not a version (the contract requires it).
 * A successful install carries what it downloaded (`transfer`); a failed one carries none: its
 * error is what matters, and the rollout's saving is what the installs that landed cost.
 */
export function installEvent(from: string | null, to: string, err?: unknown, transfer?: Transfer): EventFacts | null {
  if (!isVersion(to)) return null
  const failure = err === undefined ? {} : failureClassOf(err)
  const download = err === undefined && transfer !== undefined ? downloadOf(transfer) : null
  return { kind: 'install', outcome: err === undefined ? 'installed' : 'failed', ...versions(from, to), ...failure, ...(download ? { download } : {}) }
}

/** A Transfer as a report's `download`; null when it is not one the contract takes (then the event goes without it). */
export function downloadOf(t: Transfer): FleetDownload | null {
  const whole = (n: number, min: number) => Number.isSafeInteger(n) && n >= min && n <= FLEET_DOWNLOAD_MAX_BYTES
  return whole(t.bytes, 0) && whole(t.archiveBytes, 1) && typeof t.differential === 'boolean' ? { bytes: t.bytes, differential: t.differential, archive_bytes: t.archiveBytes } : null
}

/**
 * A rollback that left `from` for `to` (`cco rollback`, or the daemon's restore after a failed
 * health gate); null when `from` is not a version (the contract requires it).
 */
export function rollbackEvent(from: string | null, to: string | null, err?: unknown): EventFacts | null {
  if (!from || !isVersion(from)) return null
  const failure = err === undefined ? {} : failureClassOf(err)
  return { kind: 'rollback', outcome: err === undefined ? 'rolled-back' : 'failed', ...versions(from, to), ...failure }
}

/** The health verdict on `to` after a restart into it (from `from`): healthy, or not within the gate. */
export function healthEvent(from: string | null, to: string, healthy: boolean): EventFacts {
  return { kind: 'health', outcome: healthy ? 'healthy' : 'unhealthy', ...versions(from, to), ...(healthy ? {} : { error_class: 'health' }) }
}
