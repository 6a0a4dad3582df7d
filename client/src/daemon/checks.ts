// One scheduled check by the daemon, through the client's own check and install functions
// (never a second install path), with the log lines administrators grep for:
// `Starting update check`, `Current version: X`, `Latest version: Y`, then when installing
// `Downloading release...`, `Verifying checksum...`, `Installing update...`,
// `Successfully updated to Y` (or the failure and rollback lines); with `updates.window` set and
// the host before its point in a window, `Update Y waiting for the maintenance window …` instead.
import { sameVersion } from '../../../contract/version.ts'
import type { Config } from '../config/schema.ts'
import { formatClock, formatDayTime, installSlot, windowsOf } from '../config/window.ts'
import type { AppContext } from '../context.ts'
import { CliError, ExitCode, messageOf } from '../errors.ts'
import { checkEvent, checkFailedEvent, installEvent } from '../fleet/events.ts'
import { fleetReporter } from '../fleet/reporter.ts'
import { formatUtc } from '../system/clock.ts'
import { checkForUpdate, type CheckResult } from '../update/check.ts'
import type { ProgressBar } from '../system/progress.ts'
import { createUpdateContext } from '../update/context.ts'
import type { UpdateHooks } from '../update/hooks.ts'
import { updateUnderLock, type InstallDecision, type UnderLockStep } from '../update/install.ts'
import { managedUpgradeCommand, notInstallingLine } from '../update/managed.ts'
import { probeBinary } from '../update/probe.ts'
import { rolloutBucket } from '../update/rollout.ts'
import { readHandover } from './handover-state.ts'

export type CheckOutcome =
  | { kind: 'checked'; latest: string | null; updateAvailable: boolean }
  /** An update to install automatically, outside the host's point in a maintenance window: install at `installAt`. */
  | { kind: 'waiting'; latest: string | null; version: string; bucket: number; installAt: number }
  /** A new binary is at the install path (installed now, or already there): restart into it. */
  | { kind: 'installed'; version: string; latest: string | null }
  | { kind: 'network-error'; message: string }
  | { kind: 'failed'; message: string; exitCode: number }

function size(bytes: number): string {
  return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`
}

/** A version that failed the health gate on this host, and when: not installed again automatically. */
export function rejectedVersion(stateDir: string): { version: string; at: string } | null {
  const h = readHandover(stateDir)
  return h && h.phase === 'rolled-back' ? { version: h.to_version, at: h.at } : null
}

/** Logs what a check found; stops there when there is nothing this host can install. */
function report(log: AppContext['logger'], check: CheckResult): UnderLockStep<CheckOutcome> {
  log.info(`Current version: ${check.current}`)
  log.info(`Latest version: ${check.latest ?? `none (channel ${check.channel} has no release)`}`)
  const d = check.decision
  if (d.kind === 'none') {
    log.info(`No update to install: ${d.detail}`)
    return { stop: { kind: 'checked', latest: check.latest, updateAvailable: false } }
  }
  if (d.kind === 'no-asset') {
    log.warn(d.detail)
    return { stop: { kind: 'checked', latest: check.latest, updateAvailable: false } }
  }
  log.info(`Update available: ${d.version} (${d.detail})`)
  return { install: d }
}

/** Under the update lock: whether to install an available release automatically. */
async function autoInstall(app: AppContext, config: Config, hostId: string, check: CheckResult, d: InstallDecision): Promise<UnderLockStep<CheckOutcome>> {
  const log = app.logger
  const rejected = rejectedVersion(app.paths.stateDir)
  if (rejected && sameVersion(rejected.version, d.version)) {
    log.warn(
      `Not installing ${d.version} automatically: it did not become healthy on this host (${formatUtc(new Date(rejected.at))}) and was rolled back; install it by hand with \`cco update --yes\``,
    )
    return { stop: { kind: 'checked', latest: check.latest, updateAvailable: true } }
  }
  // Installed already (by hand, while this daemon was not told): only the restart is missing.
  if ((await probeBinary(app.paths.installPath, app.env, d.version)).kind === 'reports') {
    log.info(`${d.version} is already installed at ${app.paths.installPath}`)
    return { stop: { kind: 'installed', version: d.version, latest: check.latest } }
  }
  return waitForWindow(app, config, hostId, check, d)
}

/**
 * With `updates.window` set, an automatic install happens only inside a window, at the host's
 * point in it (its rollout bucket for this version spread across the window, window.ts), so
 * that a fleet staggers; before that point the update waits and the daemon wakes for it. A
 * running version that was yanked is replaced at once.
 */
function waitForWindow(app: AppContext, config: Config, hostId: string, check: CheckResult, d: InstallDecision): UnderLockStep<CheckOutcome> {
  const now = app.clock.now().getTime()
  const bucket = rolloutBucket(hostId, d.version)
  const slot = installSlot(windowsOf(config.updates.window), now, bucket)
  if (slot === null || slot.at <= now) return { install: d }
  // A yank is the safety valve: a host running a withdrawn version moves at once, window or not.
  if (d.why === 'yanked') {
    app.logger.info(`Installing ${d.version} outside the maintenance window ${slot.occurrence.window.text}: the running version was yanked`)
    return { install: d }
  }
  const day = (ms: number) => formatDayTime(ms).slice(0, 14)
  const on = day(slot.at) === day(now) ? '' : ` on ${day(slot.at)}`
  app.logger.info(`Update ${d.version} waiting for the maintenance window ${slot.occurrence.window.text}, installing at ${formatClock(slot.at)}${on}`)
  return { stop: { kind: 'waiting', latest: check.latest, version: d.version, bucket, installAt: slot.at } }
}

/**
 * One scheduled check. With fleet reports on, what it found or did is queued (fleet/); the
 * daemon's loop sends the queue right after (daemon/fleet-sender.ts).
 */
export async function scheduledCheck(app: AppContext, config: Config, configPath: string): Promise<CheckOutcome> {
  const log = app.logger
  const fleet = fleetReporter(app, config)
  // How far the check got, for the report of a failure: the check under the lock, the install it started.
  const seen: { check: CheckResult | null; install: InstallDecision | null } = { check: null, install: null }
  let downloaded = false
  const hooks: UpdateHooks = {
    async afterInstall() {},
    beforeSwap: () => log.info('Installing update...'),
  }
  const ctx = createUpdateContext(app, config, configPath, {
    hooks,
    progress: (name: string, total: number): ProgressBar => {
      log.info(`Downloading release... (${name}, ${size(total)})`)
      return {
        update(received) {
          // The sha256 was computed while streaming; it is compared once the last byte is in.
          if (received >= total && !downloaded) {
            downloaded = true
            log.info('Verifying checksum...')
          }
        },
        stop() {},
      }
    },
  })
  log.info('Starting update check')
  try {
    // A package-managed build only checks: its package manager installs (update/managed.ts).
    if (!config.updates.auto_install || managedUpgradeCommand() !== null) {
      const check = (seen.check = await checkForUpdate(ctx))
      await fleet.record(checkEvent(check.decision), check.current)
      const found = report(log, check)
      if ('stop' in found) return found.stop
      log.info(notInstallingLine())
      return { kind: 'checked', latest: check.latest, updateAvailable: true }
    }
    const run = await updateUnderLock(ctx, async (check) => {
      seen.check = check
      const found = report(log, check)
      const step = 'stop' in found ? found : await autoInstall(app, config, ctx.hostId, check, found.install)
      if ('install' in step) seen.install = step.install
      return step
    })
    if (run.kind === 'stopped') {
      await fleet.record(checkEvent(run.check.decision), run.check.current)
      return run.value
    }
    await fleet.record(installEvent(run.check.current, run.result.version, undefined, run.result.transfer), run.result.version)
    log.info(`Successfully updated to ${run.result.version}`)
    return { kind: 'installed', version: run.result.version, latest: run.check.latest }
  } catch (err) {
    const from = seen.check?.current ?? app.version
    await fleet.record(seen.install ? installEvent(from, seen.install.version, err) : checkFailedEvent(err), from)
    const message = messageOf(err)
    const exitCode = err instanceof CliError ? err.exitCode : ExitCode.failure
    if (exitCode === ExitCode.network) return { kind: 'network-error', message }
    return { kind: 'failed', message, exitCode }
  } finally {
    await ctx.http.close().catch(() => {})
  }
}
