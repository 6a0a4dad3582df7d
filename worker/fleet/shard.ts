// One shard of the fleet's storage (`<PRODUCT>:fleet:<n>`, shards.ts): the latest state of each
// host that reports here, its labels, and its events of the last 30 days, in the object's
// SQLite storage (fleet/SCHEMA.md). This is the only code that touches that storage. Reports
// are applied in one synchronous transaction each (rate check, dedupe, host row, labels,
// trim); the views' counts are computed here in SQL, so the Worker only adds up 16 small
// answers; the alarm prunes once a day.
import { DurableObject } from 'cloudflare:workers'
import { FleetReportSchema, type EventKind, type EventOutcome, type FleetEventView, type FleetHost, type FleetReport } from '../../contract/fleet.ts'
import type { Channel } from '../../contract/manifest.ts'
import { rolloutBucket, rolloutHashInput } from '../../contract/rollout.ts'
import {
  CHECKS_KEPT,
  EVENT_RETENTION_MS,
  EVENTS_PER_HOST,
  HOST_RETENTION_MS,
  PRUNE_INTERVAL_MS,
  admitReport,
  eventTimeMs,
  labelsText,
  nextHostState,
  versionKeyOf,
  type HostState,
} from './policy.ts'
import { FLEET_META_DDL, FLEET_MIGRATIONS, FLEET_SCHEMA_VERSION } from './schema.ts'
import { hostHash } from './shards.ts'
import type { EventQuery, GuardQuery, GuardShardCounts, HostQuery, ReportOutcome, RolloutCounts, RolloutQuery, ShardScope, ShardSummary, ShardSummaryQuery } from './types.ts'

type Row = Record<string, SqlStorageValue>

/** Distinct key=value pairs a shard lists in a summary (the most common first). */
export const LABELS_LISTED = 1000
/** Hosts whose rollout bucket is computed per transaction, and transactions per summary at most. */
const BUCKET_BATCH = 2000
const MAX_BUCKET_PASSES = 1000
/** Events and hosts deleted per statement or transaction by the alarm, and batches per alarm run (then it runs again in a minute). */
const PRUNE_BATCH = 5000
const HOSTS_PRUNE_BATCH = 500
const PRUNE_BATCHES_PER_RUN = 40
/** Hosts of this shard under the current shard count (ShardScope). */
const OWN = 'shard_hash % ? = ?'

export class FleetShard extends DurableObject<Env> {
  readonly #sql: SqlStorage
  /** Set once this instance has made sure an alarm is scheduled. */
  #alarmChecked = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#migrate()
  }

  // ─── RPC: reports ───────────────────────────────────────────────────────────────────────

  /** Applies one report: refused for the host's rate with nothing written, else stored in one transaction. */
  async report(input: FleetReport): Promise<ReportOutcome> {
    // Re-validated here too: the object must not trust that every caller parsed the body.
    const report = FleetReportSchema.parse(input)
    const shardHash = await hostHash(report.host_id)
    await this.#ensureAlarm()
    const now = Date.now()
    return this.ctx.storage.transactionSync(() => this.#record(report, shardHash, now))
  }

  #record(report: FleetReport, shardHash: number, now: number): ReportOutcome {
    const row = this.#sql.exec<Row>('SELECT * FROM hosts WHERE host_id = ?', report.host_id).toArray()[0]
    const admission = admitReport(row ? (JSON.parse(String(row.recent_reports)) as number[]) : [], now)
    if (!admission.ok) return { ok: false, retryAfterS: admission.retryAfterS }

    let accepted = 0
    for (const e of report.events) {
      accepted += this.#sql
        .exec(
          `INSERT INTO events (host_id, id, shard_hash, at, received_at, kind, outcome, from_version, from_key, to_version, to_key, error_class, exit_code)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
          report.host_id,
          e.id,
          shardHash,
          eventTimeMs(e.at, now),
          now,
          e.kind,
          e.outcome,
          e.from ?? null,
          e.from === undefined ? null : versionKeyOf(e.from),
          e.to ?? null,
          e.to === undefined ? null : versionKeyOf(e.to),
          e.error_class ?? null,
          e.exit_code ?? null,
        )
        .toArray().length
    }

    const s = nextHostState(row ? toHostState(row) : null, report, shardHash, now)
    const labels = labelsText(s.labels)
    const eventsKept = Number(row?.events_kept ?? 0) + accepted
    this.#sql.exec(
      `INSERT INTO hosts (host_id, shard_hash, name, labels, channel, platform, version, version_key, check_interval_s,
         first_seen, last_seen, stale_after, state_at, last_kind, last_outcome, last_event_at,
         failed_to, failed_to_key, failed_at, rolled_back_from, rolled_back_from_key, rolled_back_at, events_kept, recent_reports,
         download_to_key, download_at, download_bytes, download_differential, download_archive_bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (host_id) DO UPDATE SET
         shard_hash = excluded.shard_hash, name = excluded.name, labels = excluded.labels, channel = excluded.channel,
         platform = excluded.platform, version = excluded.version, version_key = excluded.version_key,
         check_interval_s = excluded.check_interval_s, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
         stale_after = excluded.stale_after, state_at = excluded.state_at, last_kind = excluded.last_kind,
         last_outcome = excluded.last_outcome, last_event_at = excluded.last_event_at, failed_to = excluded.failed_to,
         failed_to_key = excluded.failed_to_key, failed_at = excluded.failed_at, rolled_back_from = excluded.rolled_back_from,
         rolled_back_from_key = excluded.rolled_back_from_key, rolled_back_at = excluded.rolled_back_at,
         events_kept = excluded.events_kept, recent_reports = excluded.recent_reports,
         download_to_key = excluded.download_to_key, download_at = excluded.download_at, download_bytes = excluded.download_bytes,
         download_differential = excluded.download_differential, download_archive_bytes = excluded.download_archive_bytes`,
      s.hostId,
      s.shardHash,
      s.name,
      labels,
      s.channel,
      s.platform,
      s.version,
      s.versionKey,
      s.checkIntervalS,
      s.firstSeen,
      s.lastSeen,
      s.staleAfter,
      s.stateAt,
      s.lastEvent?.kind ?? null,
      s.lastEvent?.outcome ?? null,
      s.lastEvent?.at ?? null,
      s.failedInstall?.version ?? null,
      s.failedInstall?.key ?? null,
      s.failedInstall?.at ?? null,
      s.rolledBack?.from ?? null,
      s.rolledBack?.key ?? null,
      s.rolledBack?.at ?? null,
      eventsKept,
      JSON.stringify(admission.recent),
      s.download?.key ?? null,
      s.download?.at ?? null,
      s.download?.bytes ?? null,
      s.download === null ? null : Number(s.download.differential),
      s.download?.archiveBytes ?? null,
    )
    if (!row || row.labels !== labels) {
      this.#sql.exec('DELETE FROM host_labels WHERE host_id = ?', s.hostId)
      for (const [key, value] of Object.entries(s.labels)) this.#sql.exec('INSERT INTO host_labels (host_id, key, value) VALUES (?, ?, ?)', s.hostId, key, value)
    }
    // `events_kept` only grows between trims (the alarm's pruning does not lower it), so it is
    // an upper bound: the exact count is taken only when the bound passes the cap.
    if (eventsKept > EVENTS_PER_HOST) this.#trimEvents(s.hostId)
    return { ok: true, accepted, duplicates: report.events.length - accepted }
  }

  /** Keeps the newest CHECKS_KEPT checks, then the newest EVENTS_PER_HOST events, of a host. */
  #trimEvents(hostId: string): void {
    this.#sql.exec(
      `DELETE FROM events WHERE host_id = ? AND kind = 'check' AND id NOT IN
         (SELECT id FROM events WHERE host_id = ? AND kind = 'check' ORDER BY at DESC, id DESC LIMIT ?)`,
      hostId,
      hostId,
      CHECKS_KEPT,
    )
    this.#sql.exec(
      `DELETE FROM events WHERE host_id = ? AND id NOT IN
         (SELECT id FROM events WHERE host_id = ? ORDER BY at DESC, id DESC LIMIT ?)`,
      hostId,
      hostId,
      EVENTS_PER_HOST,
    )
    this.#sql.exec('UPDATE hosts SET events_kept = (SELECT COUNT(*) FROM events WHERE host_id = ?) WHERE host_id = ?', hostId, hostId)
  }

  // ─── RPC: views ─────────────────────────────────────────────────────────────────────────

  /** This shard's counts for `GET /v1/fleet`, each an SQL aggregate over its own hosts. */
  async summary(q: ShardSummaryQuery): Promise<ShardSummary> {
    for (const r of q.rollouts) if (r.version !== null) await this.#fillBuckets(q, r.channel, r.version)
    // From here on synchronous: every count below sees the same rows.
    const now = Date.now()
    const scope = [q.shards, q.index]
    const totals = this.#sql.exec<{ hosts: number; stale: number }>(`SELECT COUNT(*) AS hosts, COALESCE(SUM(stale_after < ?), 0) AS stale FROM hosts WHERE ${OWN}`, now, ...scope).one()
    const byVersion = this.#sql
      .exec<{ version: string; version_key: string; channel: string; hosts: number }>(
        `SELECT version_key, channel, MIN(version) AS version, COUNT(*) AS hosts FROM hosts WHERE ${OWN} GROUP BY version_key, channel`,
        ...scope,
      )
      .toArray()
      .map((r) => ({ version: r.version, versionKey: r.version_key, channel: r.channel, hosts: r.hosts }))
    const byPlatform = this.#sql.exec<{ platform: string | null; hosts: number }>(`SELECT platform, COUNT(*) AS hosts FROM hosts WHERE ${OWN} GROUP BY platform`, ...scope).toArray()
    const labels = this.#sql
      .exec<{ key: string; value: string; hosts: number }>(
        `SELECT l.key AS key, l.value AS value, COUNT(*) AS hosts FROM host_labels l JOIN hosts h ON h.host_id = l.host_id
         WHERE h.${OWN} GROUP BY l.key, l.value ORDER BY hosts DESC, l.key, l.value LIMIT ?`,
        ...scope,
        LABELS_LISTED + 1,
      )
      .toArray()
    return {
      hosts: totals.hosts,
      stale: totals.stale,
      byVersion,
      byPlatform,
      byLabel: labels.slice(0, LABELS_LISTED),
      labelsComplete: labels.length <= LABELS_LISTED,
      rollouts: q.rollouts.map((r) => this.#rolloutCounts(q, r)),
    }
  }

  /**
   * Records each host's rollout bucket for the channel's version where it is not recorded yet
   * (`bucket_of` names the version text it was computed for). SQL has no SHA-256, so the bucket
   * is computed here once per host and version, and the counts stay SQL.
   */
  async #fillBuckets(scope: ShardScope, channel: Channel, version: string): Promise<void> {
    const encoder = new TextEncoder()
    // Reports that arrive between two batches are picked up by the next select; the bound only
    // guards against a shard that gains hosts faster than it hashes them.
    for (let pass = 0; pass < MAX_BUCKET_PASSES; pass++) {
      const ids = this.#sql
        .exec<{ host_id: string }>(`SELECT host_id FROM hosts WHERE channel = ? AND ${OWN} AND bucket_of IS NOT ? LIMIT ?`, channel, scope.shards, scope.index, version, BUCKET_BATCH)
        .toArray()
        .map((r) => r.host_id)
      if (ids.length === 0) return
      const buckets = await Promise.all(ids.map(async (id) => rolloutBucket(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(rolloutHashInput(id, version)))))))
      this.ctx.storage.transactionSync(() => {
        ids.forEach((id, i) => this.#sql.exec('UPDATE hosts SET bucket_of = ?, bucket = ? WHERE host_id = ?', version, buckets[i]!, id))
      })
    }
  }

  #rolloutCounts(scope: ShardScope, r: RolloutQuery): RolloutCounts {
    const base = { channel: r.channel, inBucket: 0, installed: 0, rolledBack: 0, failed: 0, notSeen: 0, downloads: 0, differential: 0, downloadedBytes: 0, fullBytes: 0 }
    if (r.version === null) {
      const { n } = this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM hosts WHERE channel = ? AND ${OWN}`, r.channel, scope.shards, scope.index).one()
      return { ...base, onChannel: n }
    }
    const key = versionKeyOf(r.version)
    const inBucket = 'bucket_of = ? AND bucket < ?'
    const notRunning = 'version_key <> ?'
    const notRolledBack = 'rolled_back_from_key IS NOT ?'
    // The download figures ride the same pass over the channel's hosts: one row per host, so a
    // retried report or a duplicate event cannot add anything twice.
    const downloaded = 'download_to_key IS ?'
    const c = this.#sql
      .exec<{ on_channel: number; in_bucket: number; installed: number; rolled_back: number; failed: number; not_seen: number; downloads: number; differential: number; downloaded_bytes: number; full_bytes: number }>(
        `SELECT COUNT(*) AS on_channel,
           COALESCE(SUM(${inBucket}), 0) AS in_bucket,
           COALESCE(SUM(version_key = ?), 0) AS installed,
           COALESCE(SUM(${notRunning} AND rolled_back_from_key IS ?), 0) AS rolled_back,
           COALESCE(SUM(${notRunning} AND ${notRolledBack} AND failed_to_key IS ?), 0) AS failed,
           COALESCE(SUM(${inBucket} AND ${notRunning} AND ${notRolledBack} AND failed_to_key IS NOT ?), 0) AS not_seen,
           COALESCE(SUM(${downloaded}), 0) AS downloads,
           COALESCE(SUM(CASE WHEN ${downloaded} THEN download_differential ELSE 0 END), 0) AS differential,
           COALESCE(SUM(CASE WHEN ${downloaded} THEN download_bytes ELSE 0 END), 0) AS downloaded_bytes,
           COALESCE(SUM(CASE WHEN ${downloaded} THEN download_archive_bytes ELSE 0 END), 0) AS full_bytes
         FROM hosts WHERE channel = ? AND ${OWN}`,
        ...[r.version, r.percent],
        key,
        ...[key, key],
        ...[key, key, key],
        ...[r.version, r.percent, key, key, key],
        ...[key, key, key, key],
        r.channel,
        scope.shards,
        scope.index,
      )
      .one()
    return {
      channel: r.channel,
      onChannel: c.on_channel,
      inBucket: c.in_bucket,
      installed: c.installed,
      rolledBack: c.rolled_back,
      failed: c.failed,
      notSeen: c.not_seen,
      downloads: c.downloads,
      differential: c.differential,
      downloadedBytes: c.downloaded_bytes,
      fullBytes: c.full_bytes,
    }
  }

  /**
   * For the broker's failure guard (worker/policy/guard.ts): this shard's hosts on the channel
   * that attempted the version since `since` (an install event to it, or running it) and those
   * that failed it since then (install failed, rolled back from it, unhealthy on it), with up to
   * `sample` failed host ids and the failures' error classes. Event times are the hosts' own,
   * clamped to their arrival, so a failure from before a resume does not count after it.
   */
  guardCounts(q: GuardQuery): GuardShardCounts {
    const scope = [q.shards, q.index]
    const failure = `e.at >= ? AND ((e.kind = 'install' AND e.outcome = 'failed' AND e.to_key = ?)
      OR (e.kind = 'rollback' AND e.outcome = 'rolled-back' AND e.from_key = ?)
      OR (e.kind = 'health' AND e.outcome = 'unhealthy' AND e.to_key = ?))`
    const failureArgs = [q.since, q.versionKey, q.versionKey, q.versionKey]
    const onChannel = `h.channel = ? AND h.${OWN}`
    const { attempted } = this.#sql
      .exec<{ attempted: number }>(
        `SELECT COUNT(*) AS attempted FROM hosts h WHERE ${onChannel} AND (h.version_key = ?
           OR EXISTS (SELECT 1 FROM events e WHERE e.host_id = h.host_id AND e.kind = 'install' AND e.to_key = ? AND e.at >= ?))`,
        q.channel, ...scope, q.versionKey, q.versionKey, q.since,
      )
      .one()
    const failedRows = this.#sql
      .exec<{ host_id: string }>(`SELECT h.host_id AS host_id FROM hosts h WHERE ${onChannel} AND EXISTS (SELECT 1 FROM events e WHERE e.host_id = h.host_id AND ${failure}) ORDER BY h.host_id`, q.channel, ...scope, ...failureArgs)
      .toArray()
    const classes = this.#sql
      .exec<{ error_class: string }>(
        `SELECT DISTINCT e.error_class AS error_class FROM events e JOIN hosts h ON h.host_id = e.host_id
         WHERE ${onChannel} AND e.error_class IS NOT NULL AND ${failure} ORDER BY e.error_class LIMIT 20`,
        q.channel, ...scope, ...failureArgs,
      )
      .toArray()
    return { attempted, failed: failedRows.length, hosts: failedRows.slice(0, q.sample).map((r) => r.host_id), errorClasses: classes.map((r) => r.error_class) }
  }

  /** Up to `limit` hosts after `after`, by host id, that pass the filters. */
  hosts(q: HostQuery): FleetHost[] {
    const now = Date.now()
    const where = [OWN]
    const args: SqlStorageValue[] = [q.shards, q.index]
    const add = (clause: string, ...values: SqlStorageValue[]) => {
      where.push(clause)
      args.push(...values)
    }
    if (q.after !== undefined) add('host_id > ?', q.after)
    if (q.versionKey !== undefined) add('version_key = ?', q.versionKey)
    if (q.channel !== undefined) add('channel = ?', q.channel)
    if (q.stale !== undefined) add(q.stale ? 'stale_after < ?' : 'stale_after >= ?', now)
    if (q.outcome !== undefined) add('last_outcome = ?', q.outcome)
    if (q.label !== undefined) add('host_id IN (SELECT host_id FROM host_labels WHERE key = ? AND value = ?)', q.label.key, q.label.value)
    return this.#sql
      .exec<Row>(`SELECT * FROM hosts WHERE ${where.join(' AND ')} ORDER BY host_id LIMIT ?`, ...args, q.limit)
      .toArray()
      .map((row) => hostView(row, now))
  }

  /** Up to `limit` events after `before` in the newest-first order, that pass the filters. */
  events(q: EventQuery): FleetEventView[] {
    const where = [OWN]
    const args: SqlStorageValue[] = [q.shards, q.index]
    const add = (clause: string, ...values: SqlStorageValue[]) => {
      where.push(clause)
      args.push(...values)
    }
    if (q.hostId !== undefined) add('host_id = ?', q.hostId)
    if (q.versionKey !== undefined) add('(to_key = ? OR from_key = ?)', q.versionKey, q.versionKey)
    if (q.since !== undefined) add('at >= ?', q.since)
    if (q.kind !== undefined) add('kind = ?', q.kind)
    if (q.before !== undefined) add('(at, host_id, id) < (?, ?, ?)', q.before.at, q.before.hostId, q.before.id)
    return this.#sql
      .exec<Row>(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY at DESC, host_id DESC, id DESC LIMIT ?`, ...args, q.limit)
      .toArray()
      .map(eventView)
  }

  // ─── Alarm: retention ───────────────────────────────────────────────────────────────────

  /** Forgets hosts unseen for 90 days and events older than 30, in batches; then sleeps a day. */
  override async alarm(): Promise<void> {
    const more = this.#prune(Date.now())
    await this.ctx.storage.setAlarm(Date.now() + (more ? 60_000 : PRUNE_INTERVAL_MS))
  }

  /** True when a batch limit stopped it before everything due was deleted. */
  #prune(now: number): boolean {
    let batches = 0
    for (; batches < PRUNE_BATCHES_PER_RUN; batches++) {
      const ids = this.#sql.exec<{ host_id: string }>('SELECT host_id FROM hosts WHERE last_seen < ? LIMIT ?', now - HOST_RETENTION_MS, HOSTS_PRUNE_BATCH).toArray()
      if (ids.length === 0) break
      this.ctx.storage.transactionSync(() => {
        for (const { host_id } of ids) {
          this.#sql.exec('DELETE FROM events WHERE host_id = ?', host_id)
          this.#sql.exec('DELETE FROM host_labels WHERE host_id = ?', host_id)
          this.#sql.exec('DELETE FROM hosts WHERE host_id = ?', host_id)
        }
      })
    }
    for (; batches < PRUNE_BATCHES_PER_RUN; batches++) {
      const deleted = this.#sql.exec(
        'DELETE FROM events WHERE (host_id, id) IN (SELECT host_id, id FROM events WHERE at < ? LIMIT ?)',
        now - EVENT_RETENTION_MS,
        PRUNE_BATCH,
      ).rowsWritten
      if (deleted < PRUNE_BATCH) return false
    }
    return true
  }

  async #ensureAlarm(): Promise<void> {
    if (this.#alarmChecked) return
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PRUNE_INTERVAL_MS)
    this.#alarmChecked = true
  }

  #migrate(): void {
    this.#sql.exec(FLEET_META_DDL)
    const row = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]
    const from = row ? Number(row.value) : 0
    if (from > FLEET_SCHEMA_VERSION) throw new Error(`fleet storage schema ${from} is newer than this code (${FLEET_SCHEMA_VERSION}); deploy the newer code`)
    if (from === FLEET_SCHEMA_VERSION) return
    this.ctx.storage.transactionSync(() => {
      for (let v = from; v < FLEET_SCHEMA_VERSION; v++) for (const statement of FLEET_MIGRATIONS[v]!) this.#sql.exec(statement)
      this.#sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", String(FLEET_SCHEMA_VERSION))
    })
  }
}

type Cell = SqlStorageValue | undefined
const num = (v: Cell) => Number(v)
const str = (v: Cell) => (v === null || v === undefined ? null : String(v))

function toHostState(row: Row): HostState {
  return {
    hostId: String(row.host_id),
    shardHash: num(row.shard_hash),
    name: str(row.name),
    labels: JSON.parse(String(row.labels)) as Record<string, string>,
    channel: String(row.channel),
    platform: str(row.platform),
    version: String(row.version),
    versionKey: String(row.version_key),
    checkIntervalS: num(row.check_interval_s),
    firstSeen: num(row.first_seen),
    lastSeen: num(row.last_seen),
    staleAfter: num(row.stale_after),
    stateAt: num(row.state_at),
    lastEvent: str(row.last_kind) === null ? null : { kind: row.last_kind as EventKind, outcome: row.last_outcome as EventOutcome, at: num(row.last_event_at) },
    failedInstall: str(row.failed_to) === null ? null : { version: String(row.failed_to), key: String(row.failed_to_key), at: num(row.failed_at) },
    rolledBack: str(row.rolled_back_from) === null ? null : { from: String(row.rolled_back_from), key: String(row.rolled_back_from_key), at: num(row.rolled_back_at) },
    download:
      str(row.download_to_key) === null
        ? null
        : { key: String(row.download_to_key), at: num(row.download_at), bytes: num(row.download_bytes), differential: num(row.download_differential) === 1, archiveBytes: num(row.download_archive_bytes) },
  }
}

const iso = (ms: number) => new Date(ms).toISOString()

function hostView(row: Row, now: number): FleetHost {
  const s = toHostState(row)
  return {
    host_id: s.hostId,
    name: s.name,
    labels: s.labels,
    channel: s.channel as Channel,
    platform: s.platform as FleetHost['platform'],
    version: s.version,
    check_interval_s: s.checkIntervalS,
    first_seen_at: iso(s.firstSeen),
    last_seen_at: iso(s.lastSeen),
    stale: s.staleAfter < now,
    last_event: s.lastEvent && { kind: s.lastEvent.kind, outcome: s.lastEvent.outcome, at: iso(s.lastEvent.at) },
    failed_install: s.failedInstall && { version: s.failedInstall.version, at: iso(s.failedInstall.at) },
    rolled_back: s.rolledBack && { from: s.rolledBack.from, at: iso(s.rolledBack.at) },
  }
}

function eventView(row: Row): FleetEventView {
  return {
    host_id: String(row.host_id),
    id: String(row.id),
    at: iso(Number(row.at)),
    received_at: iso(Number(row.received_at)),
    kind: row.kind as EventKind,
    outcome: row.outcome as EventOutcome,
    from: str(row.from_version),
    to: str(row.to_version),
    error_class: str(row.error_class),
    exit_code: str(row.exit_code) === null ? null : num(row.exit_code),
  }
}
