// The Durable Object that is the broker's source of truth, one per product: releases, channel
// pointers with their per-channel seq and signed manifests, yanked versions, seen webhook
// deliveries and the append-only audit log, all in its SQLite storage. This is the only file
// that touches that storage. Every change goes through `commit`, which recomputes the channels,
// signs the ones whose content changed with seq + 1 and writes everything in one transaction.
// Changes come from webhook deliveries, the admin API, reconciliation with GitHub's API and
// the alarm (checksums files and block maps, asset mirror copies).
import { DurableObject } from 'cloudflare:workers'
import { GuardRequestSchema, HaltRequestSchema, PromoteRequestSchema, RolloutRequestSchema, YankRequestSchema, type GuardRequest, type HaltRequest, type RampRequest, type PromoteRequest, type RolloutRequest, type YankRequest } from '../../contract/api.ts'
import { CHANNELS, MANIFEST_MAX_BYTES, isChannel, type Channel } from '../../contract/manifest.ts'
import { parseVersion, versionIdentity } from '../../contract/version.ts'
import { loadConfig } from '../config.ts'
import { kvKey } from '../edge-cache.ts'
import { decideHalt, decidePromote, decideResume, decideRollout, decideUnyank, decideYank, type AdminDecision, type ReleaseFacts } from '../policy/admin.ts'
import { isoSeconds, recordedFiles, type ReleaseContent } from '../policy/assess-release.ts'
import { sha256Hex, strongEtag } from '../policy/cache.ts'
import { computeChannels, type ChannelPointer, type ChannelPointers } from '../policy/channels.ts'
import { GithubReleaseSchema, type GithubRelease, type ReleaseAction } from '../policy/github-release.ts'
import { contentKey, manifestContent, manifestPayload, shrinkNotes, shrinkYankReasons, type ManifestContent } from '../policy/manifest.ts'
import { NOT_LISTED, planReconcile, type RecordedRelease } from '../policy/reconcile.ts'
import { conflict, notFound, refusalOf, type Refusal } from '../policy/refusal.ts'
import { DELETED, UNPUBLISHED, onGithubRelease, onJobResult, versionOfTag, type AuditInput, type Job, type JobResult, type ReleaseRow } from '../policy/release-lifecycle.ts'
import { loadSigningKeys, type SigningKeys } from '../signing.ts'
import { allShards, fleetShard, fleetShardCount } from '../fleet/shards.ts'
import { DEFAULT_GUARD, EVIDENCE_HOSTS, decideGuard, guardNear, type Guard, type GuardCounts } from '../policy/guard.ts'
import { decideRamp, startRamp, type Ramp } from '../policy/ramp.ts'
import { NOTIFY_MAX_ATTEMPTS, NOTIFY_TIMEOUT_MS, notificationOf, notifyRetryDelayMs, parseNotifyUrls, redactedUrl } from '../policy/notify.ts'
import { fetchReleaseFiles } from './fetch-release-files.ts'
import { mirrorAsset, mirrorBucket, mirrorKeysOf, type MirrorCopy } from './mirror.ts'
import { listGithubReleases, releasesUrl } from './reconcile.ts'
import { META_DDL, MIGRATIONS, SCHEMA_VERSION } from './schema.ts'
import { SerialQueue } from './serial-queue.ts'
import type {
  AdminActor,
  AdminOutcome,
  AuditPageData,
  ChannelChange,
  ChannelState,
  DeliveryResult,
  GuardResult,
  ReconcileResult,
  ReleaseChange,
  ReleaseDelivery,
  ReleaseStatus,
  ScheduledResult,
  SignedManifest,
  StoredRelease,
} from './types.ts'

/** Re-sign a manifest when it expires within this time (the cron runs every 30 minutes). */
export const RESIGN_BEFORE_MS = 3 * 24 * 3600 * 1000
export { CHECKSUMS_MAX_ATTEMPTS, MIRROR_MAX_ATTEMPTS } from '../policy/release-lifecycle.ts'

/** `meta` key of the ETag (and URL) of the last GitHub release list that was applied. */
const RECONCILE_ETAG_KEY = 'reconcile_etag'
/** Seen delivery ids are kept this long; GitHub only lets people redeliver recent ones. */
const DELIVERY_RETENTION_MS = 90 * 24 * 3600 * 1000

const DAY_MS = 24 * 3600 * 1000
/** A rollout at 100 % with no failure reported this long after it got there is announced as complete. */
export const ROLLOUT_SETTLE_MS = 3600 * 1000

interface ChannelRow extends ChannelPointer {
  seq: number
  contentHash: string | null
  signed: string | null
  etag: string | null
  kids: string | null
  issuedAt: string | null
  expiresAt: string | null
  guard: Guard
  /** Epoch ms from which the failure guard counts failures (the version's arrival, the last resume). */
  guardEpoch: number
  /** Who halted the rollout (`auto-halt` or an admin's actor); null while it runs. */
  haltedBy: string | null
  ramp: Ramp | null
}

/** One state change: rows to write, why, and which channels must be re-signed regardless. */
interface Change {
  actor: string
  deliveryId?: string | null
  delivery?: { event: string; action: string | null; outcome: string; bodySha256: string | null }
  rows?: ReleaseRow[]
  audit?: AuditInput[]
  /** Pointers as an admin action sets them (promotion, rollout, halt); the rest stay. */
  pointers?: Partial<ChannelPointers>
  /** Refuse the change when the recomputed channel would not point at this version. */
  keep?: { channel: Channel; version: string | null }
  /** A version to add to the yank list, or to take off it. */
  yank?: { version: string; reason: string }
  unyank?: string
  /** Channel → reason, for re-signing even when the content is unchanged. */
  resign?: Partial<Record<Channel, string>>
  /** New failure-guard thresholds of a channel (no manifest change). */
  guard?: { channel: Channel; guard: Guard }
  /** A channel's scheduled ramp as it is to be stored (null: none). */
  ramps?: Partial<Record<Channel, Ramp | null>>
  /** A channel whose settle check is done (its `settle_at` is cleared). */
  settled?: Channel
}

/** Who applies a release's GitHub state: a webhook delivery or reconciliation. */
interface ReleaseOrigin {
  actor: string
  /** Recorded as seen with the change (webhooks); null for reconciliation. */
  deliveryId: string | null
  /** sha256 of the delivery's body, recorded with its id; null for reconciliation. */
  bodySha256?: string | null
  /** The webhook's action, or `reconcile`. */
  action: ReleaseAction | 'reconcile'
  /** Withdraw with this reason (reconciliation; a webhook withdraws by its action). */
  withdrawReason?: string
  /** Put in front of the change's own audit entries (reconciliation's `reconcile.applied`). */
  audit?: AuditInput[]
}

/** An admin request refused inside the write queue (before anything was written). */
class Refused extends Error {
  readonly refusal: Refusal
  constructor(refusal: Refusal) {
    super(refusal.message)
    this.refusal = refusal
  }
}

type Row = Record<string, SqlStorageValue>

export class Broker extends DurableObject<Env> {
  readonly #sql: SqlStorage
  readonly #writes = new SerialQueue()
  readonly #kvDirty = new Set<Channel>()
  #kvFlush: Promise<void> | null = null

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.#sql = ctx.storage.sql
    this.#migrate()
  }

  // ─── RPC: webhook deliveries ────────────────────────────────────────────────────────────

  /** Records a `release` delivery and publishes what it changes; idempotent on its id. */
  async receiveRelease(input: ReleaseDelivery): Promise<DeliveryResult> {
    // Re-validated here too: the object must not trust that every caller parsed the payload.
    const release = GithubReleaseSchema.parse(input.release)
    const d = { ...input, release }
    const result = await this.#writes.run(() => this.#applyDelivery(d))
    await this.#flushKv()
    return result
  }

  async #applyDelivery(d: ReleaseDelivery): Promise<DeliveryResult> {
    if (this.#sql.exec('SELECT 1 FROM deliveries WHERE id = ?', d.id).toArray().length > 0) {
      return { status: 'duplicate', channels: {} }
    }
    // The signature covers the body but not X-GitHub-Delivery: an old signed body sent again
    // under a fresh id must not roll the release back to what that body said.
    const sameBody = this.#sql.exec<{ id: string }>('SELECT id FROM deliveries WHERE body_sha256 = ? LIMIT 1', d.bodySha256).toArray()[0]
    if (sameBody) return { status: 'duplicate', reason: `this body was already processed (delivery ${sameBody.id})`, channels: {} }
    return this.#applyRelease(d.release, { actor: d.actor, deliveryId: d.id, bodySha256: d.bodySha256, action: d.action })
  }

  /** Applies a release's state on GitHub, from a webhook delivery or from reconciliation. */
  async #applyRelease(rel: GithubRelease, origin: ReleaseOrigin): Promise<DeliveryResult> {
    const recorded = { byId: this.#releaseByGithubId(rel.id), byVersion: this.#releaseByVersion(versionOfTag(rel.tag_name)) }
    const change = onGithubRelease(recorded, rel, {
      now: Date.now(),
      action: origin.action,
      ...(origin.withdrawReason ? { withdrawReason: origin.withdrawReason } : {}),
      assetHosts: loadConfig(this.env).assetHosts,
      mirror: mirrorBucket(this.env) !== null,
    })
    const channels = await this.#commit({
      actor: origin.actor,
      deliveryId: origin.deliveryId,
      delivery: { event: 'release', action: origin.action, outcome: change.outcome, bodySha256: origin.bodySha256 ?? null },
      rows: change.rows,
      audit: [...(origin.audit ?? []), ...change.audit],
    })
    if (change.rows.some((r) => r.fetch || r.mirror)) await this.#scheduleAlarm()
    return { status: change.outcome, ...(change.version ? { version: change.version } : {}), ...(change.reason ? { reason: change.reason } : {}), channels }
  }

  // ─── Alarm: checksums files, block maps and mirror copies, off the webhook's request path

  override async alarm(): Promise<void> {
    const config = loadConfig(this.env)
    // Jobs due now (a second of slack: an alarm may fire a hair early relative to Date.now()).
    const dueBy = Date.now() + 1000
    const due = this.#sql
      .exec<{ version: string; source_rev: number; fetch_url: string; source: string }>(
        'SELECT version, source_rev, fetch_url, source FROM releases WHERE fetch_next_at IS NOT NULL AND fetch_next_at <= ? ORDER BY fetch_next_at',
        dueBy,
      )
      .toArray()
    for (const { source, ...row } of due) {
      // No lock is held across the network: the row is re-read before the answer is applied.
      const fetched = await fetchReleaseFiles(JSON.parse(source) as GithubRelease, { assetHosts: config.assetHosts, now: isoSeconds(Date.now())! })
      await this.#writes.run(() => this.#applyJob({ kind: 'fetch', ...row }, fetched))
    }
    const copies = this.#sql
      .exec<{ kind: 'mirror'; version: string; source_rev: number; mirror_content: string }>(
        "SELECT 'mirror' AS kind, version, source_rev, mirror_content FROM releases WHERE mirror_next_at IS NOT NULL AND mirror_next_at <= ? ORDER BY mirror_next_at",
        dueBy,
      )
      .toArray()
    for (const job of copies) {
      const copied = await this.#copyToMirror(job.version, JSON.parse(job.mirror_content) as ReleaseContent)
      const unused = await this.#writes.run(() => this.#applyJob(job, copied))
      await this.#deleteFromMirror(unused)
    }
    await this.#runRamps(dueBy)
    await this.#settleRollouts(dueBy)
    await this.#sendNotifications(dueBy)
    await this.#scheduleAlarm()
    await this.#flushKv()
  }

  /**
   * Moves every due ramp (worker/policy/ramp.ts) on by one step, each a signed change with
   * actor `scheduler`; a ramp waits while its rollout is halted or its failures are at half of
   * the guard. The fleet's counts are asked outside the write queue, the step decided inside it.
   */
  async #runRamps(dueBy: number): Promise<void> {
    for (const channel of CHANNELS) {
      const row = this.#channelRows()[channel]
      if (!row.ramp || row.ramp.nextAt > dueBy) continue
      let near = false
      if (row.version !== null && !row.halted && this.env.FLEET_TOKEN_HASHES) {
        try {
          near = guardNear(row.guard, await this.#guardCounts(channel, row.version, row.guardEpoch))
        } catch (err) {
          // Without the fleet's counts the step waits rather than going ahead blind.
          console.error(`ramp of ${channel}: the fleet's counts failed: ${(err as Error).message}`)
          near = true
        }
      }
      try {
        await this.#writes.run(() => this.#applyRamp(channel, near, dueBy))
      } catch (err) {
        if (!(err instanceof Refused)) throw err
        console.error(`ramp of ${channel}: ${err.refusal.message}`)
      }
    }
  }

  /**
   * Announces each rollout that has been at 100 % (running) for ROLLOUT_SETTLE_MS with no
   * failure reported since its guard epoch (`channel.rollout_complete`, notified). One with
   * failures is not announced. Without fleet reports the failures are unknown: it is announced
   * with `failures: null`.
   */
  async #settleRollouts(dueBy: number): Promise<void> {
    for (const channel of CHANNELS) {
      const row = this.#sql.exec<{ settle_at: number | null }>('SELECT settle_at FROM channels WHERE name = ?', channel).one()
      if (row.settle_at === null || row.settle_at > dueBy) continue
      const r = this.#channelRows()[channel]
      let counts: GuardCounts | null = null
      if (r.version !== null && this.env.FLEET_TOKEN_HASHES) {
        try {
          counts = await this.#guardCounts(channel, r.version, r.guardEpoch)
        } catch (err) {
          console.error(`settle check of ${channel}: the fleet's counts failed: ${(err as Error).message}`)
          continue
        }
      }
      await this.#writes.run(async () => {
        const now = this.#channelRows()[channel]
        const same = now.version !== null && r.version !== null && versionIdentity(now.version) === versionIdentity(r.version) && now.percent === 100 && !now.halted
        const audit: AuditInput[] =
          same && (counts === null || counts.failed === 0)
            ? [{ action: 'channel.rollout_complete', target: channel, detail: { version: now.version, percent: 100, settle_s: ROLLOUT_SETTLE_MS / 1000, attempted: counts?.attempted ?? null, failures: counts?.failed ?? null } }]
            : []
        await this.#commit({ actor: 'scheduler', settled: channel, audit })
      })
    }
  }

  /** NOTIFY_URLS as configured; a bad value is logged and sends nothing (it never blocks a change). */
  #notifyUrls(): string[] {
    const parsed = parseNotifyUrls(this.env.NOTIFY_URLS)
    if (parsed.ok) return parsed.urls
    console.error(`var NOTIFY_URLS ${parsed.problem}; no notifications are sent`)
    return []
  }

  /**
   * Sends every due notification of the outbox, outside the write queue: a 2xx answer deletes
   * it; a failure is recorded in the audit log (the receiver shown by its origin only) and
   * retried with backoff, up to NOTIFY_MAX_ATTEMPTS, then given up.
   */
  async #sendNotifications(dueBy: number): Promise<void> {
    const due = this.#sql.exec<{ id: number; url: string; event: string; body: string; attempts: number }>('SELECT id, url, event, body, attempts FROM notifications WHERE next_at <= ? ORDER BY id LIMIT 50', dueBy).toArray()
    if (due.length === 0) return
    const secret = this.env.NOTIFY_SECRET || null
    const results = await Promise.all(due.map(async (n) => ({ n, error: await sendNotification(n.url, n.body, secret) })))
    const now = Date.now()
    const nowIso = isoSeconds(now)!
    this.ctx.storage.transactionSync(() => {
      for (const { n, error } of results) {
        if (error === null) {
          this.#sql.exec('DELETE FROM notifications WHERE id = ?', n.id)
          continue
        }
        const attempts = n.attempts + 1
        const givenUp = attempts >= NOTIFY_MAX_ATTEMPTS
        if (givenUp) this.#sql.exec('DELETE FROM notifications WHERE id = ?', n.id)
        else this.#sql.exec('UPDATE notifications SET attempts = ?, next_at = ?, last_error = ? WHERE id = ?', attempts, now + notifyRetryDelayMs(attempts), error, n.id)
        const detail = { receiver: redactedUrl(n.url), event: n.event, attempts, error, retry: !givenUp }
        this.#sql.exec('INSERT INTO audit (at, actor, action, target, delivery, detail) VALUES (?, ?, ?, ?, ?, ?)', nowIso, 'broker', 'notify.failed', null, null, JSON.stringify(detail))
      }
    })
  }

  async #applyRamp(channel: Channel, near: boolean, now: number): Promise<void> {
    const rows = this.#channelRows()
    const ramp = rows[channel].ramp
    if (!ramp) return
    const pointer = pointersOf(rows)[channel]
    const same = pointer.version !== null && versionIdentity(pointer.version) === versionIdentity(ramp.version)
    const d = decideRamp(ramp, pointer, same, near, now)
    if (d.kind === 'not-due') return
    if (d.kind === 'cancel') {
      await this.#commit({ actor: 'scheduler', ramps: { [channel]: null }, audit: [{ action: 'channel.ramp_cancelled', target: channel, detail: { version: ramp.version, why: d.why } }] })
      return
    }
    if (d.kind === 'wait') {
      // Audited when the reason changes, not at every look.
      const audit = ramp.waiting === d.why ? [] : [{ action: 'channel.ramp_waiting', target: channel, detail: { version: ramp.version, percent: pointer.percent, why: d.why } }]
      await this.#commit({ actor: 'scheduler', ramps: { [channel]: { ...ramp, nextAt: d.retryAt, waiting: d.why } }, audit })
      return
    }
    await this.#commit({
      actor: 'scheduler',
      pointers: { [channel]: { ...pointer, percent: d.percent } },
      keep: { channel, version: pointer.version },
      ramps: { [channel]: d.ramp },
      audit: [{ action: 'channel.ramp_step', target: channel, detail: { version: pointer.version, from_percent: pointer.percent, percent: d.percent, step: ramp.step + 1, steps: ramp.steps, done: d.ramp === null } }],
    })
  }

  /**
   * Deletes mirrored copies that the committed manifests no longer advertise (a live release's
   * replaced archives). Runs only after that commit, outside the write queue; a failure only
   * leaves an unused object behind.
   */
  async #deleteFromMirror(keys: string[]): Promise<void> {
    const bucket = mirrorBucket(this.env)
    if (!bucket || keys.length === 0) return
    await bucket.delete(keys).catch((err: unknown) => console.error(`deleting replaced mirror copies failed: ${(err as Error).message}`))
  }

  /** Copies every file of the content (archives, block maps, packs), stopping at the first failure. */
  async #copyToMirror(version: string, content: ReleaseContent): Promise<MirrorCopy> {
    const bucket = mirrorBucket(this.env)
    // The binding was removed while the job waited: there is no mirror to wait for any more.
    if (!bucket) return { ok: true }
    const hosts = loadConfig(this.env).assetHosts
    for (const file of Object.values(content.assets).flatMap(recordedFiles)) {
      const copied = await mirrorAsset(bucket, version, file, hosts)
      if (!copied.ok) return copied
    }
    return { ok: true }
  }

  /**
   * Applies a finished alarm job to its release (re-read now: no lock was held across the
   * network); returns the mirror keys that the commit stopped advertising.
   */
  async #applyJob(job: Job, result: JobResult): Promise<string[]> {
    const row = this.#releaseByVersion(job.version)
    const change = onJobResult(row, job, result, { now: Date.now(), assetHosts: loadConfig(this.env).assetHosts, mirror: mirrorBucket(this.env) !== null })
    if (!change) return []
    await this.#commit({ actor: 'broker', deliveryId: null, rows: change.rows, audit: change.audit })
    return change.unadvertised.flatMap((a) => mirrorKeysOf(row!.version, a))
  }

  async #scheduleAlarm(): Promise<void> {
    const next = this.#sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (SELECT fetch_next_at AS at FROM releases WHERE fetch_next_at IS NOT NULL
           UNION ALL SELECT mirror_next_at FROM releases WHERE mirror_next_at IS NOT NULL
           UNION ALL SELECT ramp_next_at FROM channels WHERE ramp_next_at IS NOT NULL
           UNION ALL SELECT next_at FROM notifications
           UNION ALL SELECT settle_at FROM channels WHERE settle_at IS NOT NULL)`,
      )
      .one().at
    if (next === null) return
    const current = await this.ctx.storage.getAlarm()
    if (current === null || current > next) await this.ctx.storage.setAlarm(next)
  }

  // ─── RPC: scheduled re-sign ─────────────────────────────────────────────────────────────

  /**
   * Re-signs (new seq) every channel whose manifest expires within three days of `at`, or was
   * signed by other keys than the configured ones (rotation), then re-puts every channel into
   * KV so that a failed KV write heals within one cron period.
   */
  async resignDue(at: number): Promise<ScheduledResult> {
    const when = Math.max(at, Date.now())
    const channels = await this.#writes.run(async () => {
      const keys = await loadSigningKeys(this.env)
      const kids = JSON.stringify(keys.kids)
      const resign: Partial<Record<Channel, string>> = {}
      for (const [channel, row] of Object.entries(this.#channelRows()) as [Channel, ChannelRow][]) {
        if (!row.signed || !row.expiresAt) resign[channel] = 'first manifest'
        else if (Date.parse(row.expiresAt) - when < RESIGN_BEFORE_MS) resign[channel] = 'expires soon'
        else if (row.kids !== kids) resign[channel] = 'signing keys changed'
      }
      const signed = await this.#commit({ actor: 'scheduler', resign })
      this.#sql.exec('DELETE FROM deliveries WHERE received_at < ?', isoSeconds(Date.now() - DELIVERY_RETENTION_MS))
      return signed
    })
    for (const channel of CHANNELS) this.#kvDirty.add(channel)
    await this.#flushKv()
    await this.#scheduleAlarm()
    return { channels }
  }

  // ─── RPC: reconciliation with GitHub's API ──────────────────────────────────────────────

  /**
   * Lists the repository's releases (conditional on the ETag of the last list applied) and
   * applies what webhooks missed, through the same path as a delivery: releases never seen or
   * seen with other content, and the withdrawal of active releases GitHub no longer lists (only
   * from a complete list). The request runs outside the write queue; the plan is made inside
   * it against the rows as they are then. A failure writes nothing; the next run retries.
   */
  async reconcile(): Promise<ReconcileResult> {
    const config = loadConfig(this.env)
    const url = releasesUrl(config.githubApiUrl, config.repository)
    const stored = this.#reconcileEtag()
    // Every change of a release writes an audit entry naming it: entries after this mark tell
    // which releases changed while the list was on its way.
    const mark = this.#sql.exec<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM audit').one().id
    const list = await listGithubReleases({
      apiUrl: config.githubApiUrl,
      repository: config.repository,
      token: this.env.GITHUB_TOKEN || undefined,
      etag: stored?.url === url ? stored.etag : null,
    })
    const none = { applied: [], withdrawn: [], channels: {} }
    if (list.kind === 'not-modified') return { outcome: 'not-modified', ...none }
    if (list.kind === 'failed') {
      console.error(`reconciliation with GitHub failed (next scheduled run retries): ${list.error}`)
      return { outcome: 'failed', ...none, error: list.error }
    }
    const result = await this.#writes.run(async () => {
      const changedSince = new Set(this.#sql.exec<{ target: string }>('SELECT DISTINCT target FROM audit WHERE id > ? AND target IS NOT NULL', mark).toArray().map((r) => versionIdentity(r.target)))
      const plan = planReconcile({ listed: list.releases, complete: list.complete, recorded: this.#recordedReleases(), changedSince, deletedReason: DELETED })
      const out: ReconcileResult = { outcome: 'applied', applied: [], withdrawn: [], channels: {} }
      for (const step of plan.steps) {
        const rel = step.release
        const target = step.kind === 'apply' ? versionOfTag(rel.tag_name) : step.version
        const audit = [{ action: 'reconcile.applied', target, detail: { github_id: rel.id, step: step.kind === 'apply' ? 'apply' : `withdraw (${step.action})` } }]
        const origin: ReleaseOrigin =
          step.kind === 'apply'
            ? { actor: 'reconcile', deliveryId: null, action: 'reconcile', audit }
            : { actor: 'reconcile', deliveryId: null, action: 'reconcile', audit, withdrawReason: step.action === 'missing' ? NOT_LISTED : UNPUBLISHED }
        const applied = await this.#applyRelease(rel, origin)
        Object.assign(out.channels, applied.channels)
        if (step.kind === 'apply') out.applied.push(rel.id)
        else out.withdrawn.push(step.version)
      }
      // A deferred release differs from the list: without the ETag the next run looks again.
      if (plan.deferred === 0 && list.etag) {
        this.#sql.exec(
          'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
          RECONCILE_ETAG_KEY,
          JSON.stringify({ url: list.url, etag: list.etag }),
        )
      }
      return out
    })
    await this.#flushKv()
    return result
  }

  #reconcileEtag(): { url: string; etag: string } | null {
    const row = this.#sql.exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', RECONCILE_ETAG_KEY).toArray()[0]
    return row ? (JSON.parse(row.value) as { url: string; etag: string }) : null
  }

  /** Per GitHub release id, its current row (the one `releaseByGithubId` finds). */
  #recordedReleases(): RecordedRelease[] {
    const rows = this.#sql.exec<Row>("SELECT * FROM releases ORDER BY status != 'withdrawn' DESC, updated_at DESC").toArray().map(toReleaseRow)
    const byId = new Map<number, RecordedRelease>()
    for (const r of rows) {
      if (byId.has(r.github_id)) continue
      byId.set(r.github_id, { githubId: r.github_id, version: r.version, status: r.status, reason: r.reason, source: r.source })
    }
    return [...byId.values()]
  }

  // ─── RPC: admin API ─────────────────────────────────────────────────────────────────────

  /** Points stable at a version that is on beta (live, not yanked), after its soak time. */
  async promote(channel: string, request: PromoteRequest, actor: AdminActor): Promise<AdminOutcome<ChannelChange>> {
    const req = PromoteRequestSchema.parse(request)
    const minSoakHours = loadConfig(this.env).minBetaSoakHours
    const percent = req.ramp ? req.ramp.steps[0] : req.percent
    return this.#changeChannel(
      channel,
      actor,
      (name, current) => decidePromote({ channel: name, asked: req.version, release: this.#releaseFacts(req.version), current, percent, force: req.force, minSoakHours, now: Date.now() }),
      { ramp: req.ramp, verb: 'promotion' },
    )
  }

  async rollout(channel: string, request: RolloutRequest, actor: AdminActor): Promise<AdminOutcome<ChannelChange>> {
    const req = RolloutRequestSchema.parse(request)
    const percent = req.ramp ? req.ramp.steps[0]! : req.percent!
    return this.#changeChannel(channel, actor, (name, current) => decideRollout(name, current, percent), { ramp: req.ramp, verb: 'rollout' })
  }

  async halt(channel: string, request: HaltRequest, actor: AdminActor): Promise<AdminOutcome<ChannelChange>> {
    const { reason } = HaltRequestSchema.parse(request)
    return this.#changeChannel(channel, actor, (name, current) => decideHalt(name, current, reason), { verb: 'halt' })
  }

  async resume(channel: string, actor: AdminActor): Promise<AdminOutcome<ChannelChange>> {
    return this.#changeChannel(channel, actor, (name, current) => decideResume(name, current))
  }

  /** Sets a channel's failure-guard thresholds; audited, no manifest changes. */
  async setGuard(channel: string, request: GuardRequest, actor: AdminActor): Promise<AdminOutcome<ChannelChange>> {
    const req = GuardRequestSchema.parse(request)
    if (!isChannel(channel)) return { ok: false, ...notFound(`unknown channel ${JSON.stringify(channel)} (channels: ${CHANNELS.join(', ')})`) }
    return this.#admin(async () => {
      const from = this.#channelRows()[channel].guard
      const to: Guard = { minFailures: req.min_failures ?? from.minFailures, minFailurePercent: req.min_failure_percent ?? from.minFailurePercent }
      const changed = to.minFailures !== from.minFailures || to.minFailurePercent !== from.minFailurePercent
      if (changed) {
        const detail = { from: { min_failures: from.minFailures, min_failure_percent: from.minFailurePercent }, min_failures: to.minFailures, min_failure_percent: to.minFailurePercent }
        await this.#commit({ actor: actor.name, guard: { channel, guard: to }, audit: [adminAudit({ action: 'channel.guard_set', detail }, channel, actor)] })
      }
      return { channel: this.channelStates().find((s) => s.channel === channel)!, changed }
    })
  }

  // ─── RPC: the failure guard ─────────────────────────────────────────────────────────────

  readonly #guardRuns = new Map<Channel, Promise<GuardResult>>()
  readonly #guardAgain = new Set<Channel>()

  /**
   * Halts the channel's rollout when the failures hosts reported for its version reach the
   * guard (worker/policy/guard.ts), with the same signed change as a manual halt, actor
   * `auto-halt`. Called after a report with a failure (`version`: the version it failed) and by
   * the cron. Calls for a channel while one runs are folded into one more run after it, so a
   * burst of failure reports asks the shards a few times, not once per report.
   */
  evaluateGuard(channel: Channel, version?: string): Promise<GuardResult> {
    if (!isChannel(channel)) throw new Error(`unknown channel ${JSON.stringify(channel)}`)
    const running = this.#guardRuns.get(channel)
    if (running) {
      this.#guardAgain.add(channel)
      return running
    }
    const run = (async () => {
      let result: GuardResult
      do {
        this.#guardAgain.delete(channel)
        result = await this.#evaluateGuardOnce(channel, version)
        version = undefined
      } while (this.#guardAgain.has(channel) && result.outcome !== 'halted')
      return result
    })().finally(() => {
      this.#guardRuns.delete(channel)
      this.#guardAgain.delete(channel)
    })
    this.#guardRuns.set(channel, run)
    return run
  }

  async #evaluateGuardOnce(channel: Channel, version: string | undefined): Promise<GuardResult> {
    const row = this.#channelRows()[channel]
    const hold = (why: string): GuardResult => ({ outcome: 'hold', why, channels: {} })
    if (row.version === null) return hold('the channel has no release')
    if (row.halted) return hold('the rollout is already halted')
    if (version !== undefined && versionIdentity(version) !== versionIdentity(row.version)) return hold(`the channel is on ${row.version}, not ${version}`)
    const target = row.version
    const epoch = row.guardEpoch
    // The shards are asked outside the write queue (no network I/O inside a read-modify-write);
    // the decision is made inside it against the pointer as it is then.
    const counts = await this.#guardCounts(channel, target, epoch)
    try {
      const result = await this.#writes.run(async (): Promise<GuardResult> => {
        const now = this.#channelRows()[channel]
        const same = now.version !== null && versionIdentity(now.version) === versionIdentity(target) && now.guardEpoch === epoch
        const pointer = pointersOf(this.#channelRows())[channel]
        const d = decideGuard(pointer, same, now.guard, counts, target)
        if (d.kind === 'hold') return { outcome: 'hold', why: d.why, channels: {}, counts: { attempted: counts.attempted, failed: counts.failed } }
        const channels = await this.#commit({
          actor: 'auto-halt',
          pointers: { [channel]: { ...pointer, halted: true, haltReason: d.reason } },
          keep: { channel, version: target },
          audit: [{ action: 'channel.halted', target: channel, detail: { version: target, reason: d.reason, percent: pointer.percent, auto: true, evidence: d.evidence } }],
        })
        return { outcome: 'halted', reason: d.reason, channels, counts: { attempted: counts.attempted, failed: counts.failed } }
      })
      return result
    } catch (err) {
      if (err instanceof Refused) return hold(err.refusal.message)
      throw err
    } finally {
      await this.#flushKv()
    }
  }

  /** Adds up every fleet shard's counts for (channel, version) since `since`. */
  async #guardCounts(channel: Channel, version: string, since: number): Promise<GuardCounts> {
    const shards = fleetShardCount(this.env)
    const product = loadConfig(this.env).product
    const versionKey = versionIdentity(version)
    const parts = await Promise.all(allShards(shards).map((index) => fleetShard(this.env, product, index).guardCounts({ shards, index, channel, versionKey, since, sample: EVIDENCE_HOSTS })))
    return {
      attempted: parts.reduce((n, p) => n + p.attempted, 0),
      failed: parts.reduce((n, p) => n + p.failed, 0),
      hosts: parts.flatMap((p) => p.hosts).sort().slice(0, EVIDENCE_HOSTS),
      errorClasses: [...new Set(parts.flatMap((p) => p.errorClasses))].sort().slice(0, 20),
    }
  }

  /** Withdraws a version from every channel and lists it in every manifest's `yanked`. */
  async yank(version: string, request: YankRequest, actor: AdminActor): Promise<AdminOutcome<ReleaseChange>> {
    const { reason } = YankRequestSchema.parse(request)
    return this.#admin(async () => {
      const facts = this.#releaseFacts(version)
      const rows = this.#channelRows()
      const on = CHANNELS.filter((c) => facts !== null && rows[c].version !== null && versionIdentity(rows[c].version) === versionIdentity(facts.version))
      const d = refuseOrChange(decideYank(version, facts, reason, on))
      const channels = await this.#commit({ actor: actor.name, yank: { version: facts!.version, reason }, audit: [adminAudit(d.audit, facts!.version, actor)] })
      return { release: this.getRelease(facts!.version)!, channels }
    })
  }

  /** Takes a version off the yank list; beta may return to it, stable moves only by promotion. */
  async unyank(version: string, actor: AdminActor): Promise<AdminOutcome<ReleaseChange>> {
    return this.#admin(async () => {
      const facts = this.#releaseFacts(version)
      const d = refuseOrChange(decideUnyank(version, facts))
      const channels = await this.#commit({ actor: actor.name, unyank: facts!.version, audit: [adminAudit(d.audit, facts!.version, actor)] })
      return { release: this.getRelease(facts!.version)!, channels }
    })
  }

  /**
   * An admin change of a channel's pointer. With `ramp`, the change also starts a scheduled ramp
   * (replacing any); with `verb` alone, a change cancels the channel's ramp (a manual promotion,
   * rollout or halt takes over from the schedule). Both are audited with the change.
   */
  async #changeChannel(
    name: string,
    actor: AdminActor,
    decide: (channel: Channel, current: ChannelPointer) => AdminDecision,
    o: { ramp?: RampRequest; verb?: string } = {},
  ): Promise<AdminOutcome<ChannelChange>> {
    if (!isChannel(name)) return { ok: false, ...notFound(`unknown channel ${JSON.stringify(name)} (channels: ${CHANNELS.join(', ')})`) }
    return this.#admin(async () => {
      const rows = this.#channelRows()
      const current = pointersOf(rows)[name]
      const existing = rows[name].ramp
      const d = decide(name, current)
      if (d.kind === 'refuse') throw new Refused(refusalOf(d))
      const pointer = d.kind === 'change' ? d.pointer : undefined
      const audit: AuditInput[] = pointer && d.kind === 'change' ? [adminAudit(d.audit, name, actor)] : []
      const ramps: Partial<Record<Channel, Ramp | null>> = {}
      if (o.ramp) {
        const version = (pointer ?? current).version!
        ramps[name] = startRamp(version, o.ramp.steps, o.ramp.every_s, Date.now())
        const replaced = existing ? { replaced: { version: existing.version, steps: existing.steps, step: existing.step } } : {}
        audit.push(adminAudit({ action: 'channel.ramp_set', detail: { version, steps: o.ramp.steps, every_s: o.ramp.every_s, ...replaced } }, name, actor))
      } else if (o.verb && existing && pointer) {
        ramps[name] = null
        audit.push(adminAudit({ action: 'channel.ramp_cancelled', detail: { version: existing.version, step: existing.step, steps: existing.steps, why: `a manual ${o.verb}` } }, name, actor))
      }
      if (audit.length > 0) {
        await this.#commit({
          actor: actor.name,
          ...(pointer ? { pointers: { [name]: pointer }, keep: { channel: name, version: pointer.version } } : {}),
          ramps,
          audit,
        })
      }
      if (ramps[name]) await this.#scheduleAlarm()
      return { channel: this.channelStates().find((s) => s.channel === name)!, changed: audit.length > 0 }
    })
  }

  /** Runs an admin change in the write queue; a refusal (thrown before any write) is answered. */
  async #admin<T extends object>(task: () => Promise<T>): Promise<AdminOutcome<T>> {
    try {
      return { ok: true, ...(await this.#writes.run(task)) }
    } catch (err) {
      if (err instanceof Refused) return { ok: false, ...err.refusal }
      throw err
    } finally {
      await this.#flushKv()
    }
  }

  /** What the admin policy needs to know of a version (null: not a version the broker saw). */
  #releaseFacts(asked: string): ReleaseFacts | null {
    const parsed = parseVersion(asked)
    const row = parsed ? this.#releaseByVersion(parsed.text) : null
    if (!row) return null
    const yanked = this.#yankedEntries().find((y) => versionIdentity(y.version) === versionIdentity(row.version)) ?? null
    return { version: row.version, status: row.status, yanked: yanked && { reason: yanked.reason }, liveSince: row.live_since }
  }

  // ─── RPC: reads ─────────────────────────────────────────────────────────────────────────

  /**
   * A channel's signed manifest, signed on first use if the channel never had one. `seenInKv` is
   * what the Worker found in KV (`seq` null: nothing usable); KV is written again only when
   * that copy is missing or older than this one. A Worker that did not read KV (a no-cache
   * request, which anyone can send) passes nothing and causes no KV write: KV allows about one
   * write per second per key, and every write is billed.
   */
  async manifest(channel: Channel, seenInKv?: { seq: number | null }): Promise<SignedManifest> {
    if (!isChannel(channel)) throw new Error(`unknown channel ${JSON.stringify(channel)}`)
    if (!this.#channelRows()[channel].signed) {
      await this.#writes.run(async () => {
        if (!this.#channelRows()[channel].signed) await this.#commit({ actor: 'broker', resign: { [channel]: 'first manifest' } })
      })
    }
    if (seenInKv && (seenInKv.seq === null || seenInKv.seq < this.#channelRows()[channel].seq)) this.#kvDirty.add(channel)
    await this.#flushKv()
    const row = this.#channelRows()[channel]
    return { channel, body: row.signed!, etag: row.etag!, seq: row.seq }
  }

  channelStates(): ChannelState[] {
    const rows = this.#channelRows()
    return CHANNELS.map((channel) => {
      const r = rows[channel]
      return {
        channel,
        version: r.version,
        seq: r.seq,
        // Public (GET /v1/channels, the status page): who halted is told as `auto-halt` or `admin`;
        // the admin's name (a token's, an OIDC identity) is only in the audit log, behind a token.
        rollout: { percent: r.percent, halted: r.halted, reason: r.haltReason, halted_by: r.haltedBy === null ? null : r.haltedBy === 'auto-halt' ? 'auto-halt' : 'admin' },
        guard: { min_failures: r.guard.minFailures, min_failure_percent: r.guard.minFailurePercent },
        ramp: r.ramp && {
          version: r.ramp.version,
          steps: r.ramp.steps,
          every_s: r.ramp.everyS,
          step: r.ramp.step,
          next_percent: r.ramp.steps[r.ramp.step + 1] ?? r.ramp.steps.at(-1)!,
          next_at: new Date(r.ramp.nextAt).toISOString(),
          waiting: r.ramp.waiting,
        },
        issued_at: r.issuedAt,
        expires_at: r.expiresAt,
      }
    })
  }

  /** Every release the broker has seen, newest first (by publication, then first sight). */
  listReleases(): StoredRelease[] {
    const rows = this.#sql.exec<Row>('SELECT * FROM releases ORDER BY published_at DESC, first_seen_at DESC, version DESC').toArray()
    return this.#storedReleases(rows.map(toReleaseRow))
  }

  /** One release by version (any spelling that compares equal, `v1.0` for `1.0.0`), or null. */
  getRelease(version: string): StoredRelease | null {
    const row = this.#releaseByVersion(version)
    return row ? this.#storedReleases([row])[0]! : null
  }

  /** A release file the broker recorded (an archive, block map or pack, as its manifests advertise it), or null. */
  recordedAsset(version: string, name: string): { version: string; sha256: string; source_url: string } | null {
    const row = this.#releaseByVersion(version)
    const asset = row ? Object.values(row.assets).flatMap(recordedFiles).find((a) => a.name === name) : undefined
    return row && asset ? { version: row.version, sha256: asset.sha256, source_url: asset.source_url } : null
  }

  /** The audit log, newest first, `limit` entries older than `before` (an entry id). */
  audit(options: { before?: number; limit?: number } = {}): AuditPageData {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000)
    const before = options.before ?? Number.MAX_SAFE_INTEGER
    const rows = this.#sql.exec<Row>('SELECT * FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?', before, limit + 1).toArray()
    const entries: AuditPageData['entries'] = rows.slice(0, limit).map((r) => ({
      id: Number(r.id),
      at: String(r.at),
      actor: String(r.actor),
      action: String(r.action),
      target: r.target === null ? null : String(r.target),
      delivery: r.delivery === null ? null : String(r.delivery),
      detail: JSON.parse(String(r.detail)) as Record<string, unknown>,
    }))
    return { entries, next_before: rows.length > limit ? entries[entries.length - 1]!.id : null }
  }

  // ─── The one write path ─────────────────────────────────────────────────────────────────

  /**
   * Applies a change: recomputes every channel from the live releases, signs each channel
   * whose manifest content changed (or that `resign` names) with seq + 1, then writes rows,
   * pointers, manifests, audit entries and the delivery id in one transaction. Signing comes
   * before any write, so a signing failure leaves the state (and the delivery) untouched and
   * GitHub can redeliver. Callers hold the write queue. Returns the new seq of each re-signed
   * channel.
   */
  async #commit(change: Change): Promise<Partial<Record<Channel, number>>> {
    const config = loadConfig(this.env)
    const keys = await loadSigningKeys(this.env)
    const now = Date.now()
    const nowIso = isoSeconds(now)!
    // The soak time on beta counts from the first time a release went live.
    const overlay = new Map((change.rows ?? []).map((r) => [r.version, r.status === 'live' && !r.live_since ? { ...r, live_since: nowIso } : r]))
    const live = new Map<string, ReleaseRow>()
    for (const r of this.#sql.exec<Row>("SELECT * FROM releases WHERE status = 'live'").toArray().map(toReleaseRow)) {
      if (!overlay.has(r.version)) live.set(r.version, r)
    }
    for (const r of overlay.values()) if (r.status === 'live') live.set(r.version, r)
    // A yank covers every spelling of its version; unyanking takes every such entry off.
    const yankList = this.#yankedEntries()
    const dropped = [change.yank?.version, change.unyank].filter((v) => v !== undefined).map(versionIdentity)
    const unyanked = yankList.filter((y) => dropped.includes(versionIdentity(y.version)))
    let yanked: { version: string; reason: string }[] = yankList.filter((y) => !unyanked.includes(y))
    if (change.yank) yanked = [...yanked, change.yank]
    const stored = this.#channelRows()
    const current = { ...pointersOf(stored), ...change.pointers }
    const next = computeChannels({
      live: [...live.values()].map((r) => ({ version: r.version, prerelease: r.prerelease, wasOnStable: r.was_on_stable })),
      yanked: yanked.map((y) => y.version),
      current,
      stableFromReleases: config.stableFromReleases,
    })
    const kept = change.keep && next[change.keep.channel].version
    if (change.keep && !(kept === change.keep.version || (kept && change.keep.version && versionIdentity(kept) === versionIdentity(change.keep.version)))) {
      // Only STABLE_FROM_RELEASES moves a pointer an admin just set (to a newer release).
      const moved = next[change.keep.channel].version
      throw new Refused(conflict(`${change.keep.channel} would move to ${moved ?? 'no release'} at once: with STABLE_FROM_RELEASES on it follows the newest release`))
    }

    const signed: { channel: Channel; seq: number; hash: string; body: string; etag: string; issuedAt: string; expiresAt: string; reason: string }[] = []
    for (const channel of CHANNELS) {
      const pointer = next[channel]
      const release = pointer.version === null ? null : (live.get(pointer.version) ?? null)
      const content = manifestContent({ product: config.product, channel, pointer, release, yanked, publicUrl: config.publicUrl })
      const hash = await sha256Hex(contentKey(content))
      const row = stored[channel]
      const reason = !row.signed ? 'first manifest' : row.contentHash !== hash ? 'content changed' : change.resign?.[channel]
      if (!reason) continue
      const seq = row.seq + 1
      const issuedAt = isoSeconds(now)!
      const expiresAt = isoSeconds(now + config.manifestTtlDays * DAY_MS)!
      const body = await signWithinCap(keys, content, { seq, issuedAt, expiresAt }, { cutYankReasons: !change.yank }).catch((err: unknown) => {
        // A yank is the one change that makes manifests grow without bound: refused, so that
        // every other change (webhooks, the alarm, the cron's re-sign) keeps fitting.
        if (err instanceof ManifestTooLarge && change.yank) {
          throw new Refused(
            conflict(`yanking ${change.yank.version} would make the ${channel} manifest ${err.bytes} bytes, over the ${MANIFEST_MAX_BYTES}-byte cap even with its release notes cut: unyank old versions or shorten reasons`),
          )
        }
        throw err
      })
      signed.push({ channel, seq, hash, body, etag: await strongEtag(body), issuedAt, expiresAt, reason })
    }

    const kids = JSON.stringify(keys.kids)
    const rampEntries: AuditInput[] = []
    const notifyUrls = this.#notifyUrls()
    let queued = 0
    this.ctx.storage.transactionSync(() => {
      for (const r of overlay.values()) this.#writeRelease(r)
      for (const y of unyanked) this.#sql.exec('DELETE FROM yanked WHERE version = ?', y.version)
      if (change.yank) this.#sql.exec('INSERT INTO yanked (version, reason, at) VALUES (?, ?, ?)', change.yank.version, change.yank.reason, nowIso)
      for (const channel of CHANNELS) {
        const p = next[channel]
        const was = stored[channel]
        // The failure guard counts afresh from the version's arrival and from each resume.
        const moved = p.version !== was.version && (p.version === null || was.version === null || versionIdentity(p.version) !== versionIdentity(was.version))
        const epoch = moved || (was.halted && !p.halted) ? now : was.guardEpoch
        const haltedBy = !p.halted ? null : was.halted ? was.haltedBy : change.actor
        this.#sql.exec(
          'UPDATE channels SET version = ?, percent = ?, halted = ?, halt_reason = ?, guard_epoch = ?, halted_by = ? WHERE name = ?',
          p.version, p.percent, p.halted ? 1 : 0, p.haltReason, epoch, haltedBy, channel,
        )
        // A rollout that just reached 100 % (running) is checked for failures after a settle
        // time, then announced as complete; one that leaves that state is not.
        const full = p.version !== null && p.percent === 100 && !p.halted
        const wasFull = was.version !== null && was.percent === 100 && !was.halted && !moved
        if (!full) this.#sql.exec('UPDATE channels SET settle_at = NULL WHERE name = ?', channel)
        else if (!wasFull || moved) this.#sql.exec('UPDATE channels SET settle_at = ? WHERE name = ?', now + ROLLOUT_SETTLE_MS, channel)
      }
      for (const channel of CHANNELS) {
        const was = stored[channel]
        let ramp = change.ramps?.[channel]
        // A ramp belongs to its version: the channel leaving it ends the ramp.
        if (ramp === undefined && was.ramp && next[channel].version !== null && versionIdentity(next[channel].version!) !== versionIdentity(was.ramp.version)) ramp = null
        if (ramp === undefined && was.ramp && next[channel].version === null) ramp = null
        if (ramp === undefined) continue
        if (ramp === null && was.ramp && change.ramps?.[channel] === undefined) {
          rampEntries.push({ action: 'channel.ramp_cancelled', target: channel, detail: { version: was.ramp.version, why: `the channel moved to ${next[channel].version ?? 'no release'}` } })
        }
        this.#sql.exec('UPDATE channels SET ramp = ?, ramp_next_at = ? WHERE name = ?', ramp === null ? null : JSON.stringify(ramp), ramp === null ? null : ramp.nextAt, channel)
      }
      if (change.settled) this.#sql.exec('UPDATE channels SET settle_at = NULL WHERE name = ?', change.settled)
      if (change.guard) {
        const g = change.guard
        this.#sql.exec('UPDATE channels SET guard_min_failures = ?, guard_min_failure_percent = ? WHERE name = ?', g.guard.minFailures, g.guard.minFailurePercent, g.channel)
      }
      if (next.stable.version !== null) this.#sql.exec('UPDATE releases SET was_on_stable = 1 WHERE version = ?', next.stable.version)
      for (const s of signed) {
        this.#sql.exec(
          'UPDATE channels SET seq = ?, content_hash = ?, signed = ?, etag = ?, kids = ?, issued_at = ?, expires_at = ? WHERE name = ?',
          s.seq, s.hash, s.body, s.etag, kids, s.issuedAt, s.expiresAt, s.channel,
        )
      }
      const entries: AuditInput[] = [
        ...(change.audit ?? []),
        ...rampEntries,
        ...signed.map((s) => ({
          action: 'manifest.signed',
          target: s.channel,
          detail: { seq: s.seq, version: next[s.channel].version, reason: s.reason, etag: s.etag, kids: keys.kids, expires_at: s.expiresAt },
        })),
      ]
      for (const e of entries) {
        this.#sql.exec('INSERT INTO audit (at, actor, action, target, delivery, detail) VALUES (?, ?, ?, ?, ?, ?)', nowIso, change.actor, e.action, e.target, change.deliveryId ?? null, JSON.stringify(e.detail))
      }
      for (const e of entries) {
        const message = notificationOf({ action: e.action, target: e.target ?? null, detail: e.detail as Record<string, unknown> }, change.actor, config.product, nowIso)
        if (!message) continue
        const body = JSON.stringify(message)
        for (const url of notifyUrls) {
          this.#sql.exec('INSERT INTO notifications (url, event, body, attempts, next_at, created_at) VALUES (?, ?, ?, 0, ?, ?)', url, message.event, body, now, nowIso)
          queued++
        }
      }
      if (change.delivery && change.deliveryId) {
        this.#sql.exec(
          'INSERT INTO deliveries (id, event, action, received_at, outcome, body_sha256) VALUES (?, ?, ?, ?, ?, ?)',
          change.deliveryId, change.delivery.event, change.delivery.action, nowIso, change.delivery.outcome, change.delivery.bodySha256,
        )
      }
    })
    for (const s of signed) this.#kvDirty.add(s.channel)
    // Notifications and settle checks are the alarm's, never on the change's path.
    if (queued > 0 || signed.length > 0) await this.#scheduleAlarm()
    return Object.fromEntries(signed.map((s) => [s.channel, s.seq]))
  }

  /**
   * Writes the signed manifests of dirty channels to KV, one writer at a time and always the
   * latest bytes, so KV never goes back to an older seq. A failed put is logged; the next change
   * of that channel or the next scheduled run (which re-puts every channel) repairs it, and the
   * object's own copy stays the source of truth.
   */
  #flushKv(): Promise<void> {
    this.#kvFlush ??= this.#drainKv()
    return this.#kvFlush
  }

  async #drainKv(): Promise<void> {
    // Yield first, so that #kvFlush is assigned before the loop can finish and clear it.
    await Promise.resolve()
    try {
      while (this.#kvDirty.size > 0) {
        const channel = this.#kvDirty.values().next().value as Channel
        this.#kvDirty.delete(channel)
        const row = this.#channelRows()[channel]
        if (!row.signed) continue
        try {
          await this.env.MANIFESTS.put(kvKey(channel), row.signed, { metadata: { etag: row.etag, seq: row.seq } })
        } catch (err) {
          console.error(`KV put of the ${channel} manifest (seq ${row.seq}) failed: ${(err as Error).message}`)
        }
      }
    } finally {
      // Cleared in the same step as the loop's last check: a channel marked dirty after this
      // starts a new drain.
      this.#kvFlush = null
    }
  }

  // ─── Storage helpers ────────────────────────────────────────────────────────────────────

  #migrate(): void {
    this.#sql.exec(META_DDL)
    const row = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0]
    const from = row ? Number(row.value) : 0
    if (from > SCHEMA_VERSION) throw new Error(`storage schema ${from} is newer than this code (${SCHEMA_VERSION}); deploy the newer code`)
    if (from === SCHEMA_VERSION) return
    this.ctx.storage.transactionSync(() => {
      for (let v = from; v < SCHEMA_VERSION; v++) for (const statement of MIGRATIONS[v]!) this.#sql.exec(statement)
      // 3 → 4: each row's version identity, which SQL cannot compute (contract/version.ts).
      for (const r of this.#sql.exec<{ version: string }>('SELECT version FROM releases WHERE version_key IS NULL').toArray()) {
        this.#sql.exec('UPDATE releases SET version_key = ? WHERE version = ?', versionIdentity(r.version), r.version)
      }
      this.#sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", String(SCHEMA_VERSION))
    })
  }

  /**
   * The row of a version, found by identity: any spelling that compares equal finds it. From
   * schema 4 on there is one row per identity; of older twins, the active one comes first.
   */
  #releaseByVersion(version: string): ReleaseRow | null {
    const row = this.#sql
      .exec<Row>(
        `SELECT * FROM releases WHERE version_key = ?
         ORDER BY status IN ('live', 'pending', 'mirroring') DESC, status = 'live' DESC, updated_at DESC LIMIT 1`,
        versionIdentity(version),
      )
      .toArray()[0]
    return row ? toReleaseRow(row) : null
  }

  /** The yank list as stored (one entry per version; older twins may have one per spelling). */
  #yankedEntries(): { version: string; reason: string; at: string }[] {
    return this.#sql.exec<{ version: string; reason: string; at: string }>('SELECT version, reason, at FROM yanked').toArray()
  }

  /** The row a GitHub release id belongs to: its non-withdrawn row, else its latest one. */
  #releaseByGithubId(id: number): ReleaseRow | null {
    const row = this.#sql
      .exec<Row>("SELECT * FROM releases WHERE github_id = ? ORDER BY status != 'withdrawn' DESC, updated_at DESC LIMIT 1", id)
      .toArray()[0]
    return row ? toReleaseRow(row) : null
  }

  #writeRelease(r: ReleaseRow): void {
    this.#sql.exec(
      `INSERT INTO releases (version, version_key, tag, github_id, prerelease, status, reason, notes, notes_url, published_at, first_seen_at, updated_at,
         assets, was_on_stable, source, source_rev, fetch_name, fetch_url, fetch_attempts, fetch_next_at, fetch_error,
         live_since, mirror_content, mirror_attempts, mirror_next_at, mirror_error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (version) DO UPDATE SET tag = excluded.tag, github_id = excluded.github_id, prerelease = excluded.prerelease,
         status = excluded.status, reason = excluded.reason, notes = excluded.notes, notes_url = excluded.notes_url,
         published_at = excluded.published_at, first_seen_at = excluded.first_seen_at, updated_at = excluded.updated_at,
         assets = excluded.assets, was_on_stable = MAX(releases.was_on_stable, excluded.was_on_stable), source = excluded.source,
         source_rev = excluded.source_rev, fetch_name = excluded.fetch_name, fetch_url = excluded.fetch_url,
         fetch_attempts = excluded.fetch_attempts, fetch_next_at = excluded.fetch_next_at, fetch_error = excluded.fetch_error,
         live_since = excluded.live_since, mirror_content = excluded.mirror_content,
         mirror_attempts = excluded.mirror_attempts, mirror_next_at = excluded.mirror_next_at, mirror_error = excluded.mirror_error`,
      r.version,
      versionIdentity(r.version),
      r.tag,
      r.github_id,
      r.prerelease ? 1 : 0,
      r.status,
      r.reason,
      r.notes,
      r.notes_url,
      r.published_at,
      r.first_seen_at,
      r.updated_at,
      JSON.stringify(r.assets),
      r.was_on_stable ? 1 : 0,
      JSON.stringify(r.source),
      r.source_rev,
      r.fetch?.name ?? null,
      r.fetch?.url ?? null,
      r.fetch?.attempts ?? 0,
      r.fetch?.nextAt ?? null,
      r.fetch?.error ?? null,
      r.live_since,
      r.mirror ? JSON.stringify(r.mirror.content) : null,
      r.mirror?.attempts ?? 0,
      r.mirror?.nextAt ?? null,
      r.mirror?.error ?? null,
    )
  }

  #channelRows(): Record<Channel, ChannelRow> {
    const out = {} as Record<Channel, ChannelRow>
    for (const r of this.#sql.exec<Row>('SELECT * FROM channels').toArray()) {
      const name = String(r.name)
      if (!isChannel(name)) continue
      out[name] = {
        version: r.version === null ? null : String(r.version),
        percent: Number(r.percent),
        halted: Number(r.halted) === 1,
        haltReason: r.halt_reason === null ? null : String(r.halt_reason),
        seq: Number(r.seq),
        contentHash: r.content_hash === null ? null : String(r.content_hash),
        signed: r.signed === null ? null : String(r.signed),
        etag: r.etag === null ? null : String(r.etag),
        kids: r.kids === null ? null : String(r.kids),
        issuedAt: r.issued_at === null ? null : String(r.issued_at),
        expiresAt: r.expires_at === null ? null : String(r.expires_at),
        guard: { minFailures: Number(r.guard_min_failures ?? DEFAULT_GUARD.minFailures), minFailurePercent: Number(r.guard_min_failure_percent ?? DEFAULT_GUARD.minFailurePercent) },
        guardEpoch: Number(r.guard_epoch ?? 0),
        haltedBy: r.halted_by === null || r.halted_by === undefined ? null : String(r.halted_by),
        ramp: r.ramp === null || r.ramp === undefined ? null : (JSON.parse(String(r.ramp)) as Ramp),
      }
    }
    return out
  }

  #storedReleases(rows: ReleaseRow[]): StoredRelease[] {
    const pointers = this.#channelRows()
    const yanked = new Map(this.#yankedEntries().map((y) => [versionIdentity(y.version), y]))
    return rows.map((r) => {
      const y = yanked.get(versionIdentity(r.version))
      return {
        version: r.version,
        tag: r.tag,
        github_id: r.github_id,
        prerelease: r.prerelease,
        status: r.status,
        reason: r.reason,
        notes: r.notes,
        notes_url: r.notes_url,
        published_at: r.published_at,
        first_seen_at: r.first_seen_at,
        updated_at: r.updated_at,
        assets: r.assets,
        was_on_stable: r.was_on_stable,
        channels: CHANNELS.filter((c) => pointers[c].version === r.version),
        yanked: y ? { reason: y.reason, at: y.at } : null,
        pending: r.fetch
          ? { file: r.fetch.name, attempts: r.fetch.attempts, next_attempt_at: r.fetch.nextAt === null ? null : isoSeconds(r.fetch.nextAt), last_error: r.fetch.error }
          : null,
        mirror: r.mirror
          ? { attempts: r.mirror.attempts, next_attempt_at: r.mirror.nextAt === null ? null : isoSeconds(r.mirror.nextAt), last_error: r.mirror.error }
          : null,
        live_since: r.live_since,
      }
    })
  }
}

/** The decision's change, or the refusal thrown (yank and unyank always change something). */
function refuseOrChange(d: AdminDecision): Extract<AdminDecision, { kind: 'change' }> {
  if (d.kind === 'refuse') throw new Refused(refusalOf(d))
  if (d.kind === 'unchanged') throw new Error('unexpected: a yank decision without a change')
  return d
}

/** An admin action's audit entry, with the credential's facts (OIDC workflow, run) as `auth`. */
function adminAudit(a: { action: string; detail: Record<string, unknown> }, target: string, actor: AdminActor): AuditInput {
  const auth = Object.keys(actor.detail).length > 0 ? { auth: actor.detail } : {}
  return { action: a.action, target, detail: { ...a.detail, ...auth } }
}

function pointersOf(rows: Record<Channel, ChannelRow>): ChannelPointers {
  const out = {} as ChannelPointers
  for (const c of CHANNELS) out[c] = { version: rows[c].version, percent: rows[c].percent, halted: rows[c].halted, haltReason: rows[c].haltReason }
  return out
}

function toReleaseRow(r: Row): ReleaseRow {
  const fetchUrl = r.fetch_url === null ? null : String(r.fetch_url)
  const mirrorContent = r.mirror_content === null ? null : String(r.mirror_content)
  return {
    version: String(r.version),
    tag: String(r.tag),
    github_id: Number(r.github_id),
    prerelease: Number(r.prerelease) === 1,
    status: String(r.status) as ReleaseStatus,
    reason: r.reason === null ? null : String(r.reason),
    notes: String(r.notes),
    notes_url: r.notes_url === null ? null : String(r.notes_url),
    published_at: String(r.published_at),
    first_seen_at: String(r.first_seen_at),
    updated_at: String(r.updated_at),
    assets: JSON.parse(String(r.assets)) as ReleaseRow['assets'],
    was_on_stable: Number(r.was_on_stable) === 1,
    source: JSON.parse(String(r.source)) as GithubRelease,
    source_rev: Number(r.source_rev),
    fetch:
      fetchUrl === null
        ? null
        : {
            name: String(r.fetch_name),
            url: fetchUrl,
            attempts: Number(r.fetch_attempts),
            nextAt: r.fetch_next_at === null ? null : Number(r.fetch_next_at),
            error: r.fetch_error === null ? null : String(r.fetch_error),
          },
    mirror:
      mirrorContent === null
        ? null
        : {
            content: JSON.parse(mirrorContent) as ReleaseContent,
            attempts: Number(r.mirror_attempts),
            nextAt: r.mirror_next_at === null ? null : Number(r.mirror_next_at),
            error: r.mirror_error === null ? null : String(r.mirror_error),
          },
    live_since: r.live_since === null ? null : String(r.live_since),
  }
}

/**
 * POSTs one notification: its JSON body, signed with HMAC-SHA256 under NOTIFY_SECRET in
 * `X-Cco-Signature-256: sha256=<hex>` (as GitHub signs its webhooks) when the secret is set.
 * Returns null on a 2xx answer, else what went wrong (never the URL: it may carry a secret).
 */
async function sendNotification(url: string, body: string, secret: string | null): Promise<string | null> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'cco-broker' }
  if (secret) {
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body)))
    headers['x-cco-signature-256'] = `sha256=${Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')}`
  }
  try {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS) })
    await res.body?.cancel()
    return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`
  } catch (err) {
    return (err as Error).name === 'TimeoutError' ? `no answer within ${NOTIFY_TIMEOUT_MS / 1000} s` : 'the request failed'
  }
}

/** A manifest that cannot be cut down to the 64 KiB cap. */
class ManifestTooLarge extends Error {
  readonly bytes: number
  constructor(channel: string, bytes: number) {
    super(`the signed ${channel} manifest is ${bytes} bytes, over the ${MANIFEST_MAX_BYTES} byte cap`)
    this.bytes = bytes
  }
}

/**
 * Signs the payload, cutting the notes (`notes_url` has the full text), then, when allowed, the
 * yank reasons, until the signed manifest fits the 64 KiB cap; `ManifestTooLarge` otherwise.
 */
async function signWithinCap(
  keys: SigningKeys,
  content: ManifestContent,
  issue: { seq: number; issuedAt: string; expiresAt: string },
  options: { cutYankReasons: boolean },
): Promise<string> {
  const encoder = new TextEncoder()
  let payload = manifestPayload(content, issue)
  for (;;) {
    const body = await keys.sign(encoder.encode(JSON.stringify(payload)))
    const size = encoder.encode(body).byteLength
    if (size <= MANIFEST_MAX_BYTES) return body
    const smaller = shrinkNotes(payload, size, MANIFEST_MAX_BYTES) ?? (options.cutYankReasons ? shrinkYankReasons(payload, size, MANIFEST_MAX_BYTES) : null)
    if (!smaller) throw new ManifestTooLarge(content.channel, size)
    payload = smaller
  }
}

