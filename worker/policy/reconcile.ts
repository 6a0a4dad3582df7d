// What reconciliation does with GitHub's list of releases, decided from plain data: which
// releases to (re)apply because the broker never saw them or saw other content, and which to
// withdraw because GitHub no longer publishes them. Releases the broker changed after the list
// was requested are left for the next run, so an older list never undoes a newer webhook.
import { versionIdentity } from '../../contract/version.ts'
import type { GithubRelease } from './github-release.ts'

/** What the broker recorded of one GitHub release (its current row). */
export interface RecordedRelease {
  githubId: number
  version: string
  status: 'live' | 'refused' | 'pending' | 'mirroring' | 'withdrawn'
  reason: string | null
  /** The validated payload subset it was last assessed from. */
  source: GithubRelease
}

export interface ReconcileInput {
  listed: readonly GithubRelease[]
  /** Whether `listed` is every release (no further page). */
  complete: boolean
  recorded: readonly RecordedRelease[]
  /** Identities (`versionIdentity`) of the versions the broker changed after the list was requested (a webhook came in meanwhile). */
  changedSince: ReadonlySet<string>
  /** The withdrawal reason that makes a row final (`deleted on GitHub`). */
  deletedReason: string
}

export type ReconcileStep =
  | { kind: 'apply'; release: GithubRelease }
  | { kind: 'withdraw'; version: string; release: GithubRelease; action: 'unpublished' | 'missing' }

export interface ReconcilePlan {
  steps: ReconcileStep[]
  /** Releases skipped because the broker's record is newer than the list. */
  deferred: number
}

export const NOT_LISTED = 'no longer listed by the GitHub API'

/** Statuses that put, or will put, a release on a channel. */
const ACTIVE = new Set(['live', 'pending', 'mirroring'])

export function planReconcile(i: ReconcileInput): ReconcilePlan {
  const byId = new Map(i.recorded.map((r) => [r.githubId, r]))
  const newerThanList = (r: RecordedRelease) => i.changedSince.has(versionIdentity(r.version))
  const steps: ReconcileStep[] = []
  let deferred = 0
  const seen = new Set<number>()

  for (const release of i.listed) {
    if (seen.has(release.id)) continue
    seen.add(release.id)
    const rec = byId.get(release.id)
    if (release.draft) {
      // Drafts are listed only to tokens with push access: a release turned back into a draft.
      if (!rec || !ACTIVE.has(rec.status)) continue
      if (newerThanList(rec)) deferred++
      else steps.push({ kind: 'withdraw', version: rec.version, release, action: 'unpublished' })
      continue
    }
    if (rec && rec.status === 'withdrawn' && rec.reason === i.deletedReason) continue
    if (rec && sameContent(rec.source, release)) continue
    if (rec && newerThanList(rec)) {
      deferred++
      continue
    }
    steps.push({ kind: 'apply', release })
  }

  if (i.complete) {
    for (const rec of i.recorded) {
      if (seen.has(rec.githubId) || !ACTIVE.has(rec.status)) continue
      if (newerThanList(rec)) deferred++
      else steps.push({ kind: 'withdraw', version: rec.version, release: rec.source, action: 'missing' })
    }
  }
  return { steps, deferred }
}

/** Both sides went through the same zod schema, so their serializations agree field by field. */
function sameContent(a: GithubRelease, b: GithubRelease): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
