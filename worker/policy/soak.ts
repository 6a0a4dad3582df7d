// The beta soak clock (`MIN_BETA_SOAK_HOURS`, worker/README.md "Admin API"): it measures how
// long these exact bytes, from this GitHub release, have been live. Whatever changes what a
// version serves restarts it: an archive added, removed or replaced (another sha256), the
// version taken over by another GitHub release, or the release published again after it was
// withdrawn or refused. Notes, names and flags do not: they change no byte a host installs.
import type { ReleaseContent } from './assess-release.ts'

/** What the soak clock needs to know of a release row. */
export interface SoakFacts {
  github_id: number
  status: string
  assets: ReleaseContent['assets']
  /** ISO 8601: since when it has served what it serves; null when it never went live. */
  live_since: string | null
}

export interface SoakClock {
  /** The row's `live_since`: kept, or null (the commit that makes it live stamps the time). */
  liveSince: string | null
  /** Why a clock that was running starts again (audited as `release.soak_restarted`), or null. */
  restarted: string | null
}

/**
 * The soak clock of a row that `next` describes. `prior` is this GitHub release's row of the
 * version (null if it has none); `replaced` is another GitHub release's row that the version is
 * taken from (a deleted or refused one).
 */
export function soakClock(prior: SoakFacts | null, replaced: SoakFacts | null, next: { github_id: number; status: string; assets: ReleaseContent['assets'] }): SoakClock {
  if (next.status !== 'live') return { liveSince: null, restarted: null }
  const was = prior ?? replaced
  const ranBefore = was?.live_since ? was : null
  if (!ranBefore) return { liveSince: null, restarted: null }
  if (ranBefore.github_id !== next.github_id) {
    return { liveSince: null, restarted: `the version was taken over by GitHub release ${next.github_id} (was ${ranBefore.github_id})` }
  }
  if (ranBefore.status !== 'live') return { liveSince: null, restarted: `published again after it was ${ranBefore.status}` }
  const changes = assetChanges(ranBefore.assets, next.assets)
  if (changes.length > 0) return { liveSince: null, restarted: `assets changed: ${changes.join(', ')}` }
  return { liveSince: ranBefore.live_since, restarted: null }
}

/** Platform by platform, what differs between two asset sets (by sha256; names do not count). */
export function assetChanges(before: ReleaseContent['assets'], after: ReleaseContent['assets']): string[] {
  const out: string[] = []
  const platforms = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
  for (const p of platforms) {
    const a = before[p as keyof typeof before]
    const b = after[p as keyof typeof after]
    if (!a && b) out.push(`${p} added`)
    else if (a && !b) out.push(`${p} removed`)
    else if (a && b && (a.sha256 !== b.sha256 || a.size !== b.size)) out.push(`${p} replaced (sha256 ${a.sha256.slice(0, 12)}… → ${b.sha256.slice(0, 12)}…)`)
  }
  return out
}
