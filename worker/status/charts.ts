// The status page's bars, as pure functions of the fleet view: hosts by version (one bar per
// version, split by channel) and each channel's rollout progress (its hosts split into
// installed, failed, rolled back, not yet seen and outside the rollout). Widths are shares of a
// total in percent, rounded to 0.1, for `style="width:…%"`.
import type { FleetView, RolloutProgress } from '../../contract/fleet.ts'

export interface VersionBar {
  /** The version as hosts report it (one spelling per identity, fleet/merge.ts). */
  version: string
  hosts: number
  /** Share of every reporting host, in percent. */
  share: number
  /** Hosts per channel, in the view's order. */
  channels: { channel: string; hosts: number; share: number }[]
}

/** One bar per version identity, newest first (the view's order), adding up its channels. */
export function versionBars(view: FleetView): VersionBar[] {
  const bars = new Map<string, VersionBar>()
  for (const row of view.by_version) {
    let bar = bars.get(row.version_key)
    if (!bar) {
      bar = { version: row.version, hosts: 0, share: 0, channels: [] }
      bars.set(row.version_key, bar)
    }
    bar.hosts += row.hosts
    bar.channels.push({ channel: row.channel, hosts: row.hosts, share: share(row.hosts, view.hosts) })
  }
  return [...bars.values()].map((b) => ({ ...b, share: share(b.hosts, view.hosts) }))
}

export const ROLLOUT_PARTS = ['installed', 'failed', 'rolled_back', 'not_seen', 'outside'] as const
export type RolloutPart = (typeof ROLLOUT_PARTS)[number]

export const ROLLOUT_PART_LABELS: Record<RolloutPart, string> = {
  installed: 'installed',
  failed: 'install failed',
  rolled_back: 'rolled back',
  not_seen: 'in rollout, not yet on it',
  outside: 'outside the rollout',
}

export interface RolloutSegment {
  part: RolloutPart
  hosts: number
  /** Share of the channel's hosts, in percent. */
  share: number
}

/**
 * The channel's hosts in five parts that add up to `on_channel`: the view's installed, failed,
 * rolled back and not seen (in the bucket, none of those), and the rest, which are outside the
 * bucket and have not taken the version.
 */
export function rolloutSegments(r: RolloutProgress): RolloutSegment[] {
  const counted = r.installed + r.failed + r.rolled_back + r.not_seen
  const hosts: Record<RolloutPart, number> = {
    installed: r.installed,
    failed: r.failed,
    rolled_back: r.rolled_back,
    not_seen: r.not_seen,
    outside: Math.max(0, r.on_channel - counted),
  }
  return ROLLOUT_PARTS.map((part) => ({ part, hosts: hosts[part], share: share(hosts[part], r.on_channel) }))
}

/** `n` of `total` in percent, rounded to 0.1 (0 when there is no total). */
export function share(n: number, total: number): number {
  return total > 0 ? Math.round((1000 * n) / total) / 10 : 0
}
