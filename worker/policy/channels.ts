// Where each channel points, from the live releases and the current pointers (docs/releasing.md, "The path of a release"):
// `beta` is the highest live version whatever order releases arrived in; `stable` is an
// explicit pointer (promotion, or a non-prerelease release when STABLE_FROM_RELEASES is on)
// that falls back to the highest live version that was on stable before when its version is
// withdrawn or yanked. A rollout belongs to the version it was set for.
import { CHANNELS, type Channel } from '../../contract/manifest.ts'
import { compareVersions, isPrerelease, maxVersion, versionKey } from '../../contract/version.ts'

export interface LiveRelease {
  version: string
  /** GitHub's prerelease flag. */
  prerelease: boolean
  /** Whether stable ever pointed at this version (fallback candidates). */
  wasOnStable: boolean
}

export interface ChannelPointer {
  version: string | null
  percent: number
  halted: boolean
  haltReason: string | null
}

export type ChannelPointers = Record<Channel, ChannelPointer>

export interface ChannelInputs {
  /** Releases whose status is live (yanked ones may be included; `yanked` removes them). */
  live: readonly LiveRelease[]
  /** Yanked versions: each removes every live release of an equal version, whatever its spelling. */
  yanked: Iterable<string>
  /** The pointers as stored, or as an admin action just set them (promotion, rollout, halt). */
  current: ChannelPointers
  stableFromReleases: boolean
}

export const FULL_ROLLOUT = { percent: 100, halted: false, haltReason: null } as const

export function computeChannels(input: ChannelInputs): ChannelPointers {
  const yanked = new Set([...input.yanked].map((v) => versionKey(v)))
  const servable = input.live.filter((r) => !yanked.has(versionKey(r.version)))

  const beta = maxVersion(servable.map((r) => r.version)) ?? null

  // The stable pointer stays on its version while a live, unyanked release of it exists (under
  // that release's own spelling), else falls back.
  const current = input.current.stable.version
  let stable = current === null ? null : (servable.find((r) => r.version === current) ?? servable.find((r) => versionKey(r.version) === versionKey(current)))?.version ?? null
  if (current !== null && stable === null) {
    stable = maxVersion(servable.filter((r) => r.wasOnStable).map((r) => r.version)) ?? null
  }
  if (input.stableFromReleases) {
    // A version whose text says prerelease (`-rc.1`) is not stable material even when the
    // GitHub release was not flagged as a prerelease.
    const candidate = maxVersion(servable.filter((r) => !r.prerelease && !isPrerelease(r.version)).map((r) => r.version))
    if (candidate !== undefined && (stable === null || compareVersions(candidate, stable) > 0)) stable = candidate
  }

  const next = { beta, stable } satisfies Record<Channel, string | null>
  const out = {} as ChannelPointers
  for (const channel of CHANNELS) {
    const cur = input.current[channel]
    const same = next[channel] === cur.version || (next[channel] !== null && cur.version !== null && versionKey(next[channel]!) === versionKey(cur.version))
    out[channel] = same ? { ...cur, version: next[channel] } : { version: next[channel], ...FULL_ROLLOUT }
  }
  return out
}
