// The release lifecycle as plain data (docs/releasing.md, "The path of a release"): what a
// GitHub release event (a webhook delivery or reconciliation) and what a finished alarm job
// (the fetch of the checksums file and block maps, the mirror copy) do to the rows the broker
// recorded. Each function
// takes the rows and the event and describes the change; the Durable Object reads the rows,
// commits the change and answers. No storage, no network, no clock: `now` is an input.
import { parseVersion, versionIdentity } from '../../contract/version.ts'
import type { AssetHost } from '../config.ts'
import { assessRelease, isoSeconds, recordedFiles, type Assessment, type RecordedFile, type ReleaseContent } from './assess-release.ts'
import type { FetchedBlockMap } from './delta-assets.ts'
import { isWithdrawAction, type GithubRelease, type ReleaseAction } from './github-release.ts'
import { soakClock } from './soak.ts'

/** `pending`: waiting for its checksums file or block maps; `mirroring`: its assets are being copied to R2. */
export type ReleaseStatus = 'live' | 'refused' | 'pending' | 'mirroring' | 'withdrawn'

/** Statuses whose row holds its version for its GitHub release (live, or on its way there). */
export const ACTIVE_STATUSES: ReadonlySet<ReleaseStatus> = new Set<ReleaseStatus>(['live', 'pending', 'mirroring'])

export const DELETED = 'deleted on GitHub'
export const UNPUBLISHED = 'unpublished on GitHub'

/** Attempts of an alarm job (the fetch of checksums file and block maps, the mirror copy) before the release (or its update) is refused. */
export const CHECKSUMS_MAX_ATTEMPTS = 6
export const MIRROR_MAX_ATTEMPTS = 6

/**
 * A waiting fetch job: the files its assessment asks for (the checksums file, then the block
 * maps). `name`/`url` are the file it waits for: the first one it needs, then the one whose
 * download failed last.
 */
export interface PendingFetch {
  name: string
  url: string
  attempts: number
  nextAt: number | null
  error: string | null
}

/** A waiting copy of `content`'s assets into the R2 mirror; `content` goes live once copied. */
export interface PendingMirror {
  content: ReleaseContent
  attempts: number
  nextAt: number | null
  error: string | null
}

/** A releases row as the broker works with it (worker/broker/SCHEMA.md). */
export interface ReleaseRow extends ReleaseContent {
  github_id: number
  status: ReleaseStatus
  reason: string | null
  published_at: string
  first_seen_at: string
  updated_at: string
  was_on_stable: boolean
  /** The validated payload subset of the latest delivery, so a later step can re-assess it. */
  source: GithubRelease
  source_rev: number
  fetch: PendingFetch | null
  mirror: PendingMirror | null
  /** Since when it has served what it serves (the soak clock); stamped by the commit. */
  live_since: string | null
}

export interface AuditInput {
  action: string
  target: string | null
  detail: Record<string, unknown>
}

/** What a release event does: the delivery's outcome, the rows to write and why. */
export interface LifecycleChange {
  outcome: 'published' | 'refused' | 'queued' | 'withdrawn' | 'ignored'
  version?: string
  reason?: string
  rows: ReleaseRow[]
  audit: AuditInput[]
}

/** The version text a tag stands for (the tag itself when it is no version: such a release is refused). */
export function versionOfTag(tag: string): string {
  return parseVersion(tag)?.text ?? tag
}

export interface ReleaseEventContext {
  now: number
  /** The webhook's action, or `reconcile`. */
  action: ReleaseAction | 'reconcile'
  /** Withdraw with this reason (reconciliation; a webhook withdraws by its action). */
  withdrawReason?: string
  assetHosts: readonly AssetHost[]
  /** Whether the R2 asset mirror is on: content goes live only once copied. */
  mirror: boolean
}

/**
 * What a GitHub release's state does to the recorded rows. `byId` is the row of this GitHub
 * release (its non-withdrawn one, else its latest); `byVersion` the row of the version its tag
 * names, found by identity (`versionIdentity`), whichever GitHub release holds it.
 */
export function onGithubRelease(recorded: { byId: ReleaseRow | null; byVersion: ReleaseRow | null }, rel: GithubRelease, ctx: ReleaseEventContext): LifecycleChange {
  const { byId, byVersion: existing } = recorded
  const nowIso = isoSeconds(ctx.now)!
  const version = versionOfTag(rel.tag_name)
  const ignored = (reason: string, target: string): LifecycleChange => ({
    outcome: 'ignored',
    reason,
    rows: [],
    audit: [{ action: 'delivery.ignored', target, detail: { reason, github_id: rel.id, delivery_action: ctx.action } }],
  })

  const withdrawReason = ctx.withdrawReason ?? (ctx.action !== 'reconcile' && isWithdrawAction(ctx.action) ? (ctx.action === 'deleted' ? DELETED : UNPUBLISHED) : null)
  if (withdrawReason !== null) {
    if (!byId) return ignored('release is not known to the broker', rel.tag_name)
    if (byId.status === 'withdrawn' && byId.reason === DELETED) return ignored('release was already deleted', byId.version)
    return {
      outcome: 'withdrawn',
      version: byId.version,
      rows: [{ ...byId, status: 'withdrawn', reason: withdrawReason, fetch: null, mirror: null, source: rel, source_rev: byId.source_rev + 1, updated_at: nowIso }],
      audit: [{ action: 'release.withdrawn', target: byId.version, detail: { reason: withdrawReason, was: byId.status, github_id: rel.id } }],
    }
  }

  // A deleted release stays deleted, even if a late `edited` arrives after the `deleted`.
  if (byId?.status === 'withdrawn' && byId.reason === DELETED) return { ...ignored('release was deleted on GitHub', byId.version), version: byId.version }

  const rows: ReleaseRow[] = []
  const audit: AuditInput[] = []
  // The tag of a GitHub release was changed to another version: its old version is withdrawn.
  // (A new spelling of the same version, `v1.0.0` → `1.0.0+rebuild`, is the same version.)
  if (byId && versionIdentity(byId.version) !== versionIdentity(version) && byId.status !== 'withdrawn') {
    const reason = `tag changed to ${rel.tag_name}`
    rows.push({ ...byId, status: 'withdrawn', reason, fetch: null, mirror: null, source_rev: byId.source_rev + 1, updated_at: nowIso })
    audit.push({ action: 'release.withdrawn', target: byId.version, detail: { reason, was: byId.status, github_id: rel.id } })
  }
  // Every spelling that compares equal (`1.0.0`, `v1.0`, `1.0.0+rebuild`) is one version,
  // held by at most one GitHub release at a time.
  if (existing && existing.github_id !== rel.id && ACTIVE_STATUSES.has(existing.status)) {
    const same = existing.version === version ? '' : ` (as ${existing.version}, which is the same version)`
    const reason = `version ${version} already belongs to GitHub release ${existing.github_id}${same}`
    audit.push({ action: 'release.refused', target: version, detail: { reason, tag: rel.tag_name, github_id: rel.id, delivery_action: ctx.action } })
    return { outcome: 'refused', version, reason, rows, audit }
  }
  // A row of this version from another (deleted, refused) GitHub release is taken over; the
  // row keeps the spelling it was first recorded with, so its yank and mirror keys stay.
  const rowVersion = existing?.version ?? version
  const outcome = applyAssessment({
    assessment: assessRelease(rel, { assetHosts: ctx.assetHosts, now: nowIso }),
    source: rel,
    version: rowVersion,
    prior: existing && existing.github_id === rel.id ? existing : null,
    replaced: existing && existing.github_id !== rel.id ? existing : null,
    wasOnStable: existing?.was_on_stable ?? false,
    sourceRev: (existing?.source_rev ?? 0) + 1,
    now: ctx.now,
    mirror: ctx.mirror,
    context: { github_id: rel.id, delivery_action: ctx.action },
  })
  return { outcome: outcome.status, version: rowVersion, ...(outcome.reason ? { reason: outcome.reason } : {}), rows: [...rows, outcome.row], audit: [...audit, ...outcome.audit] }
}

// ─── Alarm jobs ─────────────────────────────────────────────────────────────────────────────

/** A file the fetch job downloads: the checksums file or a block map. */
export interface FetchedFile {
  kind: 'checksums' | 'blockmap'
  name: string
  url: string
}

/**
 * The fetch job's answer: the files the assessment asked for (the checksums file's text, the
 * block maps' bytes and sha256), or which file could not be downloaded and why.
 */
export type FetchResult =
  | { ok: true; checksums?: { name: string; text: string }; blockmaps?: Readonly<Record<string, FetchedBlockMap>> }
  | { ok: false; error: string; retry: boolean; file?: FetchedFile }

/** The mirror job's answer: every asset copied, or why not. */
export type MirrorResult = { ok: true } | { ok: false; error: string; retry: boolean }

export type JobResult = FetchResult | MirrorResult

/** The job as it was read before its network I/O: its answer applies only if the row is unchanged. */
export type Job = { kind: 'fetch'; version: string; source_rev: number; fetch_url: string } | { kind: 'mirror'; version: string; source_rev: number; mirror_content: string }

export interface JobChange {
  rows: ReleaseRow[]
  audit: AuditInput[]
  /** Files of a live release (archives, block maps, packs) that the change stopped advertising (their mirror copies can go). */
  unadvertised: RecordedFile[]
}

/** When a failed alarm job runs again: 15 s, 30 s, 1 min, 2 min, 4 min; then it gives up. */
export function nextAttempt(attempts: number, now: number, max: number): { kind: 'retry'; at: number } | { kind: 'give-up' } {
  return attempts >= max ? { kind: 'give-up' } : { kind: 'retry', at: now + 15_000 * 2 ** (attempts - 1) }
}

/**
 * What a finished alarm job does to its release's row, or null when the answer is stale (a
 * later delivery changed the release while the job was on the network).
 */
export function onJobResult(row: ReleaseRow | null, job: Job, result: JobResult, ctx: { now: number; assetHosts: readonly AssetHost[]; mirror: boolean }): JobChange | null {
  return job.kind === 'fetch' ? onFetched(row, job, result as FetchResult, ctx) : onMirrorCopy(row, job, result, ctx)
}

/**
 * The fetch job's answer: the release assessed again with the files it asked for (a block map
 * that does not match its digest or the release refuses it like any other problem), or a failed
 * download retried on the backoff schedule, then refused naming the file.
 */
function onFetched(row: ReleaseRow | null, job: Extract<Job, { kind: 'fetch' }>, result: FetchResult, ctx: { now: number; assetHosts: readonly AssetHost[]; mirror: boolean }): JobChange | null {
  if (!row || row.source_rev !== job.source_rev || !row.fetch || row.fetch.url !== job.fetch_url) return null
  const base = { source: row.source, version: row.version, wasOnStable: row.was_on_stable, sourceRev: row.source_rev, now: ctx.now, mirror: ctx.mirror }
  if (result.ok) {
    const fetched = { ...(result.checksums ? { checksums: result.checksums.name } : {}), ...(result.blockmaps ? { blockmaps: Object.keys(result.blockmaps) } : {}) }
    let assessment = assessRelease(row.source, { assetHosts: ctx.assetHosts, checksums: result.checksums, blockmaps: result.blockmaps, now: isoSeconds(ctx.now)! })
    // Given what it asked for, an assessment never asks again; if it did, the job would loop.
    if (assessment.kind === 'fetch-checksums' || assessment.kind === 'fetch-blockmaps') assessment = { kind: 'refuse', reason: `the release still needs ${assessment.kind === 'fetch-checksums' ? 'its checksums file' : 'its block maps'} after they were fetched` }
    const outcome = applyAssessment({ ...base, context: { github_id: row.github_id, ...fetched }, assessment, prior: { ...row, fetch: null } })
    return { rows: [outcome.row], audit: outcome.audit, unadvertised: [] }
  }
  const file: FetchedFile = result.file ?? { kind: 'checksums', name: row.fetch.name, url: row.fetch.url }
  const what = `${file.kind === 'checksums' ? 'checksums file' : 'block map'} ${JSON.stringify(file.name)}`
  const context = { github_id: row.github_id, [file.kind]: file.name }
  const attempts = row.fetch.attempts + 1
  const next = result.retry ? nextAttempt(attempts, ctx.now, CHECKSUMS_MAX_ATTEMPTS) : ({ kind: 'give-up' } as const)
  if (next.kind === 'give-up') {
    const reason = `${what} could not be fetched${result.retry ? ` after ${attempts} attempts` : ''}: ${result.error}`
    const outcome = applyAssessment({ ...base, context, assessment: { kind: 'refuse', reason }, prior: row })
    return { rows: [outcome.row], audit: outcome.audit, unadvertised: [] }
  }
  return {
    rows: [{ ...row, fetch: { name: file.name, url: file.url, attempts, nextAt: next.at, error: result.error } }],
    audit: [{ action: `${file.kind}.fetch_failed`, target: row.version, detail: { ...context, attempt: attempts, error: result.error, next_attempt_at: isoSeconds(next.at) } }],
    unadvertised: [],
  }
}

function onMirrorCopy(row: ReleaseRow | null, job: Extract<Job, { kind: 'mirror' }>, result: MirrorResult, ctx: { now: number; mirror: boolean }): JobChange | null {
  if (!row || row.source_rev !== job.source_rev || !row.mirror || JSON.stringify(row.mirror.content) !== job.mirror_content) return null
  const context = { github_id: row.github_id, mirror: true }
  const common = { source: row.source, version: row.version, prior: { ...row, mirror: null }, wasOnStable: row.was_on_stable, sourceRev: row.source_rev, now: ctx.now, mirror: ctx.mirror, context }
  if (result.ok) {
    const outcome = applyAssessment({ ...common, assessment: { kind: 'publish', content: row.mirror.content, choices: [] }, mirrored: true })
    // The live release's files that the new content replaced: no manifest names them now.
    const kept = new Set(Object.values(outcome.row.assets).flatMap(recordedFiles).map((a) => `${a.sha256}/${a.name}`))
    const unadvertised = row.status === 'live' ? Object.values(row.assets).flatMap(recordedFiles).filter((a) => !kept.has(`${a.sha256}/${a.name}`)) : []
    return { rows: [outcome.row], audit: outcome.audit, unadvertised }
  }
  const attempts = row.mirror.attempts + 1
  const next = result.retry ? nextAttempt(attempts, ctx.now, MIRROR_MAX_ATTEMPTS) : ({ kind: 'give-up' } as const)
  if (next.kind === 'give-up') {
    const reason = `asset mirror copy failed${result.retry ? ` after ${attempts} attempts` : ''}: ${result.error}`
    const outcome = applyAssessment({ ...common, assessment: { kind: 'refuse', reason } })
    return { rows: [outcome.row], audit: outcome.audit, unadvertised: [] }
  }
  return {
    rows: [{ ...row, mirror: { ...row.mirror, attempts, nextAt: next.at, error: result.error } }],
    audit: [{ action: 'mirror.failed', target: row.version, detail: { ...context, attempt: attempts, error: result.error, next_attempt_at: isoSeconds(next.at) } }],
    unadvertised: [],
  }
}

// ─── Assessment → row ───────────────────────────────────────────────────────────────────────

/** What an assessment is applied to: the release's rows and where the change came from. */
export interface AssessmentInput {
  assessment: Assessment
  source: GithubRelease
  version: string
  /** This GitHub release's row of the version, if any. */
  prior: ReleaseRow | null
  /** Another GitHub release's row of the version, which this one takes over. */
  replaced?: ReleaseRow | null
  wasOnStable: boolean
  sourceRev: number
  now: number
  mirror: boolean
  context: Record<string, unknown>
  /** The alarm just copied the content's assets into the mirror. */
  mirrored?: boolean
}

export interface AssessedRow {
  row: ReleaseRow
  status: 'published' | 'refused' | 'queued'
  reason?: string
  audit: AuditInput[]
}

/**
 * The row an assessment leads to. A release that is live keeps serving what it served when
 * an update of it is refused or still waits for its checksums or its mirror copy: a transient
 * state on GitHub (an asset being replaced) must not pull a good release from its channels.
 * With the mirror on, content whose assets are not yet copied waits for the alarm. The soak
 * clock keeps running only while the same bytes of the same GitHub release stay live.
 */
export function applyAssessment(a: AssessmentInput): AssessedRow {
  const out = assessedRow(a)
  const soak = soakClock(a.prior, a.replaced ?? null, out.row)
  const restarted: AuditInput[] = soak.restarted
    ? [{ action: 'release.soak_restarted', target: a.version, detail: { reason: soak.restarted, previous_live_since: (a.prior ?? a.replaced)?.live_since ?? null, github_id: a.source.id } }]
    : []
  return { ...out, row: { ...out.row, live_since: soak.liveSince }, audit: [out.audit, ...restarted] }
}

function assessedRow(a: AssessmentInput): Omit<AssessedRow, 'audit'> & { audit: AuditInput } {
  const nowIso = isoSeconds(a.now)!
  const live = a.prior?.status === 'live' ? a.prior : null
  const common = {
    github_id: a.source.id,
    first_seen_at: a.prior?.first_seen_at ?? nowIso,
    updated_at: nowIso,
    was_on_stable: a.wasOnStable,
    source: a.source,
    source_rev: a.sourceRev,
    live_since: a.prior?.live_since ?? null,
  }
  // What a release that is not live records about itself.
  const unpublished = {
    version: a.version,
    tag: a.source.tag_name,
    prerelease: a.source.prerelease,
    published_at: isoSeconds(a.source.published_at) ?? nowIso,
    notes: '',
    notes_url: null,
    assets: {},
  }
  const ctx = { tag: a.source.tag_name, ...a.context }
  switch (a.assessment.kind) {
    case 'publish': {
      // Served under the row's spelling of the version (the same version as the tag's).
      const c = { ...a.assessment.content, version: a.version }
      if (!a.mirrored && a.mirror && !(live && sameAssets(live.assets, c.assets))) {
        const mirror: PendingMirror = { content: c, attempts: 0, nextAt: a.now, error: null }
        const row: ReleaseRow = live ? { ...live, ...common, fetch: null, mirror } : { ...common, ...c, status: 'mirroring', reason: null, fetch: null, mirror }
        const assets = Object.values(c.assets).map((x) => x.name)
        return { row, status: 'queued', audit: { action: 'release.mirroring', target: a.version, detail: { ...ctx, assets, still_serving: live !== null } } }
      }
      const row: ReleaseRow = { ...common, ...c, status: 'live', reason: null, fetch: null, mirror: null }
      const assets = Object.fromEntries(Object.entries(c.assets).map(([p, x]) => [p, x.name]))
      const detail = { ...ctx, prerelease: c.prerelease, assets, ...(a.assessment.choices.length ? { choices: a.assessment.choices } : {}) }
      return { row, status: 'published', audit: { action: live ? 'release.updated' : 'release.published', target: a.version, detail } }
    }
    case 'refuse': {
      const reason = a.assessment.reason
      const row: ReleaseRow = live
        ? { ...live, ...common, reason, fetch: null, mirror: null }
        : { ...common, ...unpublished, status: 'refused', reason, fetch: null, mirror: null }
      return { row, status: 'refused', reason, audit: { action: 'release.refused', target: a.version, detail: { ...ctx, reason, still_serving: live !== null } } }
    }
    case 'fetch-checksums':
    case 'fetch-blockmaps': {
      // One fetch job downloads whatever the assessment asks for (the checksums file, then the
      // block maps): it waits for the first of them.
      const first = a.assessment.kind === 'fetch-checksums' ? a.assessment.checksums : a.assessment.blockmaps[0]!
      const fetch: PendingFetch = { name: first.name, url: first.url, attempts: 0, nextAt: a.now, error: null }
      const row: ReleaseRow = live ? { ...live, ...common, fetch, mirror: null } : { ...common, ...unpublished, status: 'pending', reason: null, fetch, mirror: null }
      const what = a.assessment.kind === 'fetch-checksums' ? { checksums: first.name, url: first.url } : { blockmaps: a.assessment.blockmaps.map((b) => b.name) }
      return { row, status: 'queued', audit: { action: 'release.queued', target: a.version, detail: { ...ctx, ...what } } }
    }
  }
}

/** Whether two asset sets are the same files (name, size, sha256 of each archive, block map and pack, per platform). */
export function sameAssets(a: ReleaseContent['assets'], b: ReleaseContent['assets']): boolean {
  const key = (x: ReleaseContent['assets']) => JSON.stringify(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1)).map(([p, v]) => [p, recordedFiles(v!).map((f) => [f.name, f.size, f.sha256])]))
  return key(a) === key(b)
}
