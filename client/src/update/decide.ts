// Whether this host should install what a verified manifest offers: a pure function of the
// manifest, the running version, the host id and the platform, so every rule is one test.
import type { Asset, ManifestPayload } from '../../../contract/manifest.ts'
import type { Platform } from '../../../contract/platform.ts'
import { compareVersions, parseVersion, sameVersion } from '../../../contract/version.ts'
import { inRollout, rolloutBucket } from './rollout.ts'

export type Yank = ManifestPayload['yanked'][number]

export type Decision =
  | { kind: 'none'; why: 'no-release' | 'up-to-date' | 'halted' | 'not-in-rollout'; detail: string }
  | { kind: 'install'; version: string; asset: Asset; why: 'newer'; detail: string }
  /** The running version was withdrawn: `yanked` is its entry in the manifest (version, reason). */
  | { kind: 'install'; version: string; asset: Asset; why: 'yanked'; yanked: Yank; detail: string }
  | { kind: 'no-asset'; version: string; detail: string }
  /** `cco update --version X`: the version a person asked for (update/pin.ts decides it, not this file). */
  | { kind: 'install'; version: string; asset: Asset; why: 'pinned'; detail: string }

/** The manifest's yank entry for the running version (any spelling that compares equal), or null. */
export function yankOf(m: ManifestPayload, running: string): Yank | null {
  return m.yanked.find((y) => sameVersion(y.version, running)) ?? null
}

export function decideUpdate(m: ManifestPayload, running: string, hostId: string, platform: Platform | null): Decision {
  if (!m.release) return { kind: 'none', why: 'no-release', detail: `channel ${m.channel} has no release yet` }
  const target = m.release.version
  // A running version that is not a version at all (a hand-made build) never matches `yanked`.
  const yank = parseVersion(running) !== null && compareVersions(target, running) !== 0 ? yankOf(m, running) : null
  if (!yank) {
    if (parseVersion(running) !== null && compareVersions(target, running) <= 0) {
      return { kind: 'none', why: 'up-to-date', detail: `${running} is the latest on ${m.channel}` }
    }
    if (m.rollout.halted) return { kind: 'none', why: 'halted', detail: `the rollout of ${target} is halted` }
    if (!inRollout(hostId, target, m.rollout.percent)) {
      return {
        kind: 'none',
        why: 'not-in-rollout',
        detail: `${target} is rolling out to ${m.rollout.percent}% of hosts; this host (bucket ${rolloutBucket(hostId, target)}) is not included yet`,
      }
    }
  }
  const asset = platform ? m.release.assets[platform] : undefined
  if (!asset) {
    return { kind: 'no-asset', version: target, detail: `No release asset found for platform ${platform ?? '(unsupported platform)'} in ${target}` }
  }
  return yank
    ? { kind: 'install', version: target, asset, why: 'yanked', yanked: yank, detail: `${running} was yanked: moving to ${target}` }
    : { kind: 'install', version: target, asset, why: 'newer', detail: `${target} is newer than ${running}` }
}
