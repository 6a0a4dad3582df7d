// Whether `cco update --version X` installs X: a pure function of the verified release
// statement, the verified channel manifest (its `yanked` list is the one a yank reaches hosts
// by, seq-checked, so a statement signed before a yank and replayed cannot undo it), the
// running version, the platform and `--allow-downgrade`.
import type { ManifestPayload } from '../../../contract/manifest.ts'
import type { Platform } from '../../../contract/platform.ts'
import { RELEASE_STATUS_LIVE, type ReleaseManifestPayload } from '../../../contract/release-manifest.ts'
import { compareVersions, parseVersion } from '../../../contract/version.ts'
import { decideUpdate, yankOf, type Decision } from './decide.ts'

export type PinInstall = Extract<Decision, { why: 'pinned' }>

export type PinDecision =
  | (PinInstall & { direction: 'upgrade' | 'downgrade' })
  | { kind: 'none'; why: 'same'; version: string; detail: string }
  | { kind: 'refuse'; why: 'yanked' | 'not-live' | 'downgrade' | 'no-asset'; version: string; detail: string }

export interface PinInput {
  statement: ReleaseManifestPayload
  channel: ManifestPayload
  running: string
  platform: Platform | null
  allowDowngrade: boolean
}

export function decidePin(i: PinInput): PinDecision {
  const version = i.statement.version
  // The channel manifest first: it is newer than any statement signed before the yank.
  const yank = yankOf(i.channel, version)
  if (yank) return { kind: 'refuse', why: 'yanked', version, detail: `${version} was yanked: ${yank.reason}` }
  if (i.statement.status !== RELEASE_STATUS_LIVE) return { kind: 'refuse', why: 'not-live', version, detail: `${version} is ${i.statement.status}, not live` }
  // A running version that is not a version (a hand-made build) is neither older nor newer.
  const order = parseVersion(i.running) ? compareVersions(version, i.running) : 1
  if (order === 0) return { kind: 'none', why: 'same', version, detail: `already running ${i.running}` }
  if (order < 0 && !i.allowDowngrade) {
    return { kind: 'refuse', why: 'downgrade', version, detail: `${version} is older than the running ${i.running}; pass --allow-downgrade to install it anyway` }
  }
  const asset = i.platform ? i.statement.assets[i.platform] : undefined
  if (!asset) return { kind: 'refuse', why: 'no-asset', version, detail: `No release asset found for platform ${i.platform ?? '(unsupported platform)'} in ${version}` }
  const direction = order < 0 ? 'downgrade' : 'upgrade'
  return { kind: 'install', version, asset, why: 'pinned', direction, detail: `${version} was asked for (${direction} from ${i.running})` }
}

/**
 * What the daemon would install at its next check once X runs (with `updates.auto_install` on):
 * the channel's release when it is newer than X and this host is in its rollout, else null.
 * A pin is an install, not a hold: the channel moves the host forward again.
 */
export function nextAfterPin(channel: ManifestPayload, pinned: string, hostId: string, platform: Platform | null): string | null {
  const d = decideUpdate(channel, pinned, hostId, platform)
  return d.kind === 'install' ? d.version : null
}
