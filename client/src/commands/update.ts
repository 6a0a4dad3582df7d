// `cco update [--check] [--yes] [--prompt] [--channel C]`: check, ask, install. Emits events
// as it goes (the printer turns them into the familiar `→ …` lines) and returns the outcome.
import type { Channel } from '../../../contract/manifest.ts'
import { sameVersion } from '../../../contract/version.ts'
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { restartDaemonHooks } from '../daemon/restart-request.ts'
import { CliError, ExitCode } from '../errors.ts'
import { fileIdentity } from '../update/binary-files.ts'
import type { CheckResult } from '../update/check.ts'
import { checkForUpdate } from '../update/check.ts'
import { createUpdateContext, type UpdateContext } from '../update/context.ts'
import type { Decision } from '../update/decide.ts'
import { checkUnderLock, installUpdate, takeUpdateLock, type InstallResult } from '../update/install.ts'
import type { LockHandle } from '../update/lock.ts'

export interface UpdateOptions {
  check: boolean
  yes: boolean
  prompt: boolean
  channel?: Channel
}

export type UpdateEvent =
  | { type: 'checking' }
  | { type: 'versions'; current: string; latest: string | null; channel: string }
  | { type: 'up-to-date'; decision: Extract<Decision, { kind: 'none' }> }
  | { type: 'available'; version: string; yanked: { version: string; reason: string } | null }
  | { type: 'no-asset'; detail: string }
  | { type: 'notes'; notes: string; url: string | null }
  | { type: 'downloading'; name: string; size: number }
  | { type: 'declined' }
  /** The re-check after the answer found something else than what was confirmed: nothing installed. */
  | { type: 'changed'; confirmed: string; now: Decision; current: string; latest: string | null }
  | { type: 'installed'; result: InstallResult }

export interface UpdateUi {
  event(e: UpdateEvent): void
  /** Asks the question; resolves false for no (or end of input). */
  confirm(question: string): Promise<boolean>
  /** stdin and stderr are both terminals. */
  interactive: boolean
  progress?: UpdateContext['progress']
}

export type UpdateStatus = 'up-to-date' | 'available' | 'no-asset' | 'declined' | 'changed' | 'updated'

export interface UpdateOutcome {
  status: UpdateStatus
  channel: string
  server: string
  seq: number
  current_version: string
  latest_version: string | null
  decision: { kind: Decision['kind']; detail: string }
  notes: string | null
  notes_url: string | null
  installed: InstallResult | null
}

export const UPDATE_QUESTION = 'Update now? [Y/n]: '

function outcome(check: CheckResult, status: UpdateStatus, installed: InstallResult | null = null): UpdateOutcome {
  return {
    status,
    channel: check.channel,
    server: check.server,
    seq: check.seq,
    current_version: check.current,
    latest_version: check.latest,
    decision: { kind: check.decision.kind, detail: check.decision.detail },
    notes: check.manifest.release?.notes ?? null,
    notes_url: check.manifest.release?.notes_url ?? null,
    installed,
  }
}

/** The same release as the one confirmed: version and archive. */
function sameInstall(a: Extract<Decision, { kind: 'install' }>, b: Decision): b is Extract<Decision, { kind: 'install' }> {
  return b.kind === 'install' && sameVersion(b.version, a.version) && b.asset.sha256 === a.asset.sha256
}

export async function updateCommand(app: AppContext, options: UpdateOptions, ui: UpdateUi): Promise<UpdateOutcome> {
  const { config, path } = loadConfig(app.paths.configFile)
  const ctx = createUpdateContext(app, config, path, { channel: options.channel, progress: ui.progress, hooks: restartDaemonHooks(app) })
  // Ask on a terminal unless --yes; --prompt asks even without one. Without a terminal
  // (cron, scripts) the update proceeds: that is what `cco update` was asked to do.
  const ask = !options.check && !options.yes && (options.prompt || ui.interactive)
  // What is installed before the check, to tell whether another updater came and went.
  const installedBefore = ask ? fileIdentity(ctx.paths.installPath) : null
  let lock: LockHandle | undefined
  try {
    ui.event({ type: 'checking' })
    let check: CheckResult
    if (options.check || ask) {
      // A check changes nothing but the trust state (which has its own short lock), so it
      // does not wait for an update that is in progress; and the host-wide update lock is
      // never held while a question waits for a human. It is taken after the answer.
      check = await checkForUpdate(ctx)
    } else {
      lock = await takeUpdateLock(ctx)
      check = await checkUnderLock(ctx, lock)
    }
    ui.event({ type: 'versions', current: check.current, latest: check.latest, channel: check.channel })

    let decision = check.decision
    if (decision.kind === 'none') {
      ui.event({ type: 'up-to-date', decision })
      return outcome(check, 'up-to-date')
    }
    const release = check.manifest.release!
    ui.event({ type: 'available', version: release.version, yanked: decision.kind === 'install' && decision.why === 'yanked' ? decision.yanked : null })
    if (decision.kind === 'no-asset') {
      ui.event({ type: 'no-asset', detail: decision.detail })
      if (options.check) return outcome(check, 'no-asset')
      throw new CliError(decision.detail, ExitCode.failure)
    }
    if (options.check) return outcome(check, 'available')

    if (release.notes.trim() || release.notes_url) ui.event({ type: 'notes', notes: release.notes, url: release.notes_url })
    if (ask) {
      if (!(await ui.confirm(UPDATE_QUESTION))) {
        ui.event({ type: 'declined' })
        return outcome(check, 'declined')
      }
      // Check again under the lock: while the question was open another updater may have
      // installed this version (then what is installed now counts as current), or the
      // channel may have moved on. Only what was confirmed is installed.
      lock = await takeUpdateLock(ctx)
      const again = await checkUnderLock(ctx, lock, {
        installedIsCurrent: fileIdentity(ctx.paths.installPath) !== installedBefore,
        verified: check.verified,
      })
      if (!sameInstall(decision, again.decision)) {
        ui.event({ type: 'changed', confirmed: decision.version, now: again.decision, current: again.current, latest: again.latest })
        return outcome(again, 'changed')
      }
      check = again
      decision = again.decision
    }
    if (!lock) throw new CliError('internal: install without the update lock', ExitCode.failure)
    ui.event({ type: 'downloading', name: decision.asset.name, size: decision.asset.size })
    const installed = await installUpdate(ctx, check, decision, lock)
    ui.event({ type: 'installed', result: installed })
    return outcome(check, 'updated', installed)
  } finally {
    lock?.release()
    await ctx.http.close()
  }
}
