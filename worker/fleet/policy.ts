// The fleet's rules as pure functions (worker/README.md, "Fleet reports"): how often a host may
// report, how long what it reports is kept, and how a report moves a host's recorded state.
// The shard (shard.ts) runs them against its rows; tests run them with plain data.
import type { EventKind, EventOutcome, FleetReport } from '../../contract/fleet.ts'
import { versionIdentity } from '../../contract/version.ts'

const MINUTE_MS = 60_000
const DAY_MS = 24 * 60 * MINUTE_MS

/** A host id may have this many reports accepted within any window of REPORT_WINDOW_MS. */
export const REPORTS_PER_WINDOW = 20
export const REPORT_WINDOW_MS = 10 * MINUTE_MS
/** Events are kept this long (by their time, clamped to when they arrived). */
export const EVENT_RETENTION_MS = 30 * DAY_MS
/** A host not seen for this long is forgotten, with its labels and events. */
export const HOST_RETENTION_MS = 90 * DAY_MS
/** At most this many events per host; when over, checks beyond the newest CHECKS_KEPT go first, then the oldest. */
export const EVENTS_PER_HOST = 200
export const CHECKS_KEPT = 50
/** The shard's alarm prunes this often. */
export const PRUNE_INTERVAL_MS = DAY_MS

export type Admission = { ok: true; recent: number[] } | { ok: false; retryAfterS: number }

/**
 * Whether a host may have another report accepted now: a sliding window over the times of its
 * accepted reports (refused ones are not recorded, so a flood cannot extend its own ban).
 * `recent` is what the host row keeps; the answer's `recent` is what it keeps next.
 */
export function admitReport(recent: readonly number[], now: number): Admission {
  const inWindow = recent.filter((t) => t > now - REPORT_WINDOW_MS && t <= now).sort((a, b) => a - b)
  if (inWindow.length >= REPORTS_PER_WINDOW) {
    // The oldest report that still counts leaves the window at oldest + window.
    const freeAt = inWindow[inWindow.length - REPORTS_PER_WINDOW]! + REPORT_WINDOW_MS
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((freeAt - now) / 1000)) }
  }
  return { ok: true, recent: [...inWindow, now] }
}

/** An event's time as stored: a host clock ahead of the broker's is taken as the arrival time. */
export function eventTimeMs(at: string, now: number): number {
  return Math.min(Date.parse(at), now)
}

/** The version identity as stored and filtered on (contract/version.ts; `#text` for a non-version). */
export const versionKeyOf = versionIdentity

/** What the shard records of a host: the latest report's fields and what its events said last. */
export interface HostState {
  hostId: string
  /** First 4 bytes of sha256(host_id), big-endian: the shard rule (shards.ts). */
  shardHash: number
  name: string | null
  labels: Record<string, string>
  channel: string
  platform: string | null
  version: string
  versionKey: string
  checkIntervalS: number
  /** Epoch ms. */
  firstSeen: number
  lastSeen: number
  /** last_seen + 2 × the check interval: a host is stale after this. */
  staleAfter: number
  /** The time of the newest event of the report whose fields are recorded. */
  stateAt: number
  lastEvent: { kind: EventKind; outcome: EventOutcome; at: number } | null
  failedInstall: { version: string; key: string; at: number } | null
  rolledBack: { from: string; key: string; at: number } | null
  /** The newest successful install that reported its download (schema 2): the rollout's download figures. */
  download: HostDownload | null
}

/** What one install downloaded, recorded with the host (the version's identity, the event's time). */
export interface HostDownload {
  key: string
  at: number
  bytes: number
  differential: boolean
  archiveBytes: number
}

/**
 * The host's state after an accepted report. The report's fields replace the recorded ones
 * unless the report is older than the one recorded (a retry that arrives after a newer report);
 * last seen moves forward either way. Events update "latest" facts only when newer than the
 * recorded ones, so a retried report changes nothing it already changed.
 */
export function nextHostState(prev: HostState | null, report: FleetReport, shardHash: number, now: number): HostState {
  const events = report.events.map((e) => ({ ...e, atMs: eventTimeMs(e.at, now) }))
  const stateAt = Math.max(...events.map((e) => e.atMs))
  const lastSeen = Math.max(prev?.lastSeen ?? now, now)
  const fresh = prev === null || stateAt >= prev.stateAt
  const fields = fresh
    ? {
        name: report.name ?? null,
        labels: report.labels ?? {},
        channel: report.channel,
        platform: report.platform,
        version: report.version,
        versionKey: versionKeyOf(report.version),
        checkIntervalS: report.check_interval_s,
        stateAt,
      }
    : {
        name: prev.name,
        labels: prev.labels,
        channel: prev.channel,
        platform: prev.platform,
        version: prev.version,
        versionKey: prev.versionKey,
        checkIntervalS: prev.checkIntervalS,
        stateAt: prev.stateAt,
      }
  let { lastEvent, failedInstall, rolledBack, download } = prev ?? { lastEvent: null, failedInstall: null, rolledBack: null, download: null }
  for (const e of events) {
    if (lastEvent === null || e.atMs >= lastEvent.at) lastEvent = { kind: e.kind, outcome: e.outcome, at: e.atMs }
    if (e.kind === 'install' && e.outcome === 'failed' && e.to !== undefined && (failedInstall === null || e.atMs >= failedInstall.at)) {
      failedInstall = { version: e.to, key: versionKeyOf(e.to), at: e.atMs }
    }
    if (e.kind === 'rollback' && e.outcome === 'rolled-back' && e.from !== undefined && (rolledBack === null || e.atMs >= rolledBack.at)) {
      rolledBack = { from: e.from, key: versionKeyOf(e.from), at: e.atMs }
    }
    // Only installs that landed: a host's figure is what its move to the version cost. A retried
    // or late event replaces nothing newer, so the same event counted again changes nothing.
    if (e.kind === 'install' && e.outcome === 'installed' && e.to !== undefined && e.download !== undefined && (download === null || e.atMs >= download.at)) {
      download = { key: versionKeyOf(e.to), at: e.atMs, bytes: e.download.bytes, differential: e.download.differential, archiveBytes: e.download.archive_bytes }
    }
  }
  return {
    hostId: report.host_id,
    shardHash,
    ...fields,
    firstSeen: prev?.firstSeen ?? now,
    lastSeen,
    staleAfter: lastSeen + 2 * fields.checkIntervalS * 1000,
    lastEvent,
    failedInstall,
    rolledBack,
    download,
  }
}

/** Labels as stored and compared: keys sorted, so equal label sets are equal text. */
export function labelsText(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))
}
