// `cco update [--check] [--yes] [--prompt] [--channel C] [--version X [--allow-downgrade]]`:
// check, ask, install. Emits events as it goes (the printer turns them into the familiar
// `→ …` lines) and returns the outcome. `--version X` installs exactly X from its signed
// release statement (client/README.md, "Pinning a version").
import type { Channel } from '../../../contract/manifest.ts'
import { sameVersion } from '../../../contract/version.ts'
import { loadConfig } from '../config/load.ts'
import { currentOccurrence, nextOpening, windowsOf } from '../config/window.ts'
import type { AppContext } from '../context.ts'
import { restartDaemonHooks } from '../daemon/restart-request.ts'
import { CliError, ExitCode } from '../errors.ts'
import { checkEvent, checkFailedEvent, installEvent } from '../fleet/events.ts'
import { fleetReporter, type FleetReporter } from '../fleet/reporter.ts'
import { toRfc3339 } from '../system/clock.ts'
import { fileIdentity } from '../update/binary-files.ts'
import { checkForUpdate, type CheckResult } from '../update/check.ts'
import { createUpdateContext, type UpdateContext } from '../update/context.ts'
import type { UpdateHooks } from '../update/hooks.ts'
import type { Decision } from '../update/decide.ts'
import { updateUnderLock, type InstallDecision, type InstallResult, type UnderLockStep, type UpdateRun } from '../update/install.ts'
import { fetchReleaseManifest } from '../update/fetch-release.ts'
import { decidePin, nextAfterPin, type PinDecision } from '../update/pin.ts'
import { verifyReleaseManifest } from '../update/verify-release.ts'
import { managedUpgradeCommand, refuseManagedInstall } from '../update/managed.ts'

export interface UpdateOptions {
  check: boolean
  yes: boolean
  prompt: boolean
  channel?: Channel
  /** `--version X`: install exactly X (a live release that is not yanked). */
  version?: string
  /** `--allow-downgrade`: with --version, X may be older than the running version. */
  allowDowngrade?: boolean
  /** `--full`: download the whole archive, never a differential update. */
  full?: boolean
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
  /**
   * `updates.window` is set (only the daemon waits for it): for --check, whether it is open and
   * when it opens next; before a manual install outside it, that it is not waited for. Times in ms.
   */
  | { type: 'window'; installing: boolean; openUntil: number | null; nextOpening: number; window: string }
  /** --version X: the release statement was fetched and verified. */
  | { type: 'pin-versions'; current: string; requested: string; direction: 'upgrade' | 'downgrade' | 'same' }
  | { type: 'pin-same'; version: string }
  | { type: 'pin-available'; version: string }
  /** After a pin: what the daemon does next (the version it would move to, whether it installs on its own). */
  | { type: 'pin-after'; version: string; next: string | null; autoInstall: boolean; channel: string }

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
  /** The JSON answer's own version (additive fields keep it). */
  schema: 1
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
  /** With `updates.window` set: the windows, whether one is open now (until when) and the next opening (RFC 3339). */
  maintenance_window: MaintenanceWindowView | null
  /** `--version X`: what was asked for and what its statement said; null for a channel update. */
  pin: PinView | null
}

export interface PinView {
  requested_version: string
  /** The version as its signed statement names it. */
  version: string
  direction: 'upgrade' | 'downgrade' | 'same'
  /** The pinned key that signed the statement, and until when it is valid. */
  signed_by: string
  expires_at: string
  /** The channel's release the daemon would move to at its next check (null: none for this host). */
  daemon_next_version: string | null
  auto_install: boolean
}

export interface MaintenanceWindowView {
  windows: string[]
  open_until: string | null
  next_opening: string
}

export const UPDATE_QUESTION = 'Update now? [Y/n]: '

function outcome(check: CheckResult, status: UpdateStatus, installed: InstallResult | null = null): UpdateOutcome {
  return {
    schema: 1,
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
    maintenance_window: null,
    pin: null,
  }
}

/** The same release as the one confirmed: version and archive. */
function sameInstall(a: InstallDecision, b: Decision): b is InstallDecision {
  return b.kind === 'install' && sameVersion(b.version, a.version) && b.asset.sha256 === a.asset.sha256
}

/**
 * Shows what a check found (versions, the release, its notes). Stops there for --check, when
 * there is nothing to install, or (exit 1) when there is no archive for this platform.
 */
function offer(check: CheckResult, options: UpdateOptions, ui: UpdateUi): UnderLockStep<UpdateOutcome> {
  ui.event({ type: 'versions', current: check.current, latest: check.latest, channel: check.channel })
  const decision = check.decision
  if (decision.kind === 'none') {
    ui.event({ type: 'up-to-date', decision })
    return { stop: outcome(check, 'up-to-date') }
  }
  const release = check.manifest.release!
  ui.event({ type: 'available', version: release.version, yanked: decision.kind === 'install' && decision.why === 'yanked' ? decision.yanked : null })
  if (decision.kind === 'no-asset') {
    ui.event({ type: 'no-asset', detail: decision.detail })
    if (options.check) return { stop: outcome(check, 'no-asset') }
    throw new CliError(decision.detail, ExitCode.failure, { kind: 'no-asset' })
  }
  if (options.check) return { stop: outcome(check, 'available') }
  if (release.notes.trim() || release.notes_url) ui.event({ type: 'notes', notes: release.notes, url: release.notes_url })
  return { install: decision }
}

/** What the run got to, for its fleet report: the last check, the install it started, whether that was reported. */
interface Progress {
  check: CheckResult | null
  install: { from: string; to: string } | null
  reported: boolean
}

/**
 * The fleet report of a run that ended (with `outcome`, or with `err`): queued, then sent
 * within the reporter's short deadline. Never throws and never changes the run's result.
 */
async function reportRun(fleet: FleetReporter, ctx: UpdateContext, p: Progress, end: { outcome: UpdateOutcome } | { err: unknown }): Promise<void> {
  if (!fleet.enabled || p.reported) return
  if ('outcome' in end) {
    if (p.check) await fleet.record(checkEvent(p.check.decision), p.check.current)
  } else if (p.install) {
    // A failed install leaves the previous version in place (or puts it back).
    await fleet.record(installEvent(p.install.from, p.install.to, end.err), p.install.from)
  } else if (p.check?.decision.kind === 'no-asset') {
    await fleet.record(checkEvent(p.check.decision, { exitCode: ExitCode.failure }), p.check.current)
  } else {
    await fleet.record(checkFailedEvent(end.err), p.check?.current ?? ctx.version)
  }
  await fleet.send()
}

/**
 * After a verified install: report it (at the time it happened, before the daemon restarts into
 * it and reports its own health verdict), then restart a running daemon.
 */
function afterInstallHooks(app: AppContext, fleet: FleetReporter, progress: Progress): UpdateHooks {
  const restart = restartDaemonHooks(app)
  return {
    async afterInstall(event) {
      if (fleet.enabled && progress.install) {
        progress.reported = true
        await fleet.record(installEvent(progress.install.from, event.version, undefined, event.transfer), event.version)
        await fleet.send()
      }
      await restart.afterInstall(event)
    },
  }
}

export async function updateCommand(app: AppContext, options: UpdateOptions, ui: UpdateUi): Promise<UpdateOutcome> {
  // A package-managed build checks like --check, and names the package manager's upgrade instead of installing.
  const managed = managedUpgradeCommand()
  if (managed !== null && !options.check) return refuseManagedInstall(managed, await updateCommand(app, { ...options, check: true }, ui))
  const { config, path } = loadConfig(app.paths.configFile)
  const progress: Progress = { check: null, install: null, reported: false }
  const fleet = fleetReporter(app, config, { channel: options.channel })
  const hooks = afterInstallHooks(app, fleet, progress)
  const ctx = createUpdateContext(app, config, path, { channel: options.channel, progress: ui.progress, hooks, fullDownload: options.full })
  try {
    const result = options.version !== undefined ? await runPin(ctx, options, options.version, ui, progress) : await runUpdate(ctx, options, ui, progress)
    result.maintenance_window = windowView(ctx)
    await reportRun(fleet, ctx, progress, { outcome: result })
    return result
  } catch (err) {
    await reportRun(fleet, ctx, progress, { err })
    throw err
  } finally {
    await ctx.http.close()
  }
}

/**
 * The maintenance window as a person running `cco update` sees it: for --check, when it opens
 * next; before an install outside it, that a manual update does not wait for it. Nothing when
 * no window is set, and nothing before an install inside one.
 */
function windowEvent(ctx: UpdateContext, installing: boolean): UpdateEvent | null {
  const windows = windowsOf(ctx.config.updates.window)
  const now = ctx.clock.now().getTime()
  const next = nextOpening(windows, now)
  if (next === null) return null
  const open = currentOccurrence(windows, now)
  if (installing && open) return null
  return { type: 'window', installing, openUntil: open?.end ?? null, nextOpening: next.start, window: (open ?? next).window.text }
}

function windowView(ctx: UpdateContext): MaintenanceWindowView | null {
  const windows = windowsOf(ctx.config.updates.window)
  const now = ctx.clock.now().getTime()
  const next = nextOpening(windows, now)
  if (next === null) return null
  const open = currentOccurrence(windows, now)
  return { windows: windows.map((w) => w.text), open_until: open ? toRfc3339(new Date(open.end)) : null, next_opening: toRfc3339(new Date(next.start)) }
}

async function runUpdate(ctx: UpdateContext, options: UpdateOptions, ui: UpdateUi, progress: Progress): Promise<UpdateOutcome> {
  // Ask on a terminal unless --yes; --prompt asks even without one. Without a terminal
  // (cron, scripts) the update proceeds: that is what `cco update` was asked to do.
  const ask = !options.check && !options.yes && (options.prompt || ui.interactive)
  // What is installed before the check, to tell whether another updater came and went.
  const installedBefore = ask ? fileIdentity(ctx.paths.installPath) : null
  const seen = (check: CheckResult): CheckResult => (progress.check = check)
  const sayWindow = (installing: boolean) => {
    const e = windowEvent(ctx, installing)
    if (e) ui.event(e)
  }
  const download = (decision: InstallDecision): UnderLockStep<UpdateOutcome> => {
    // Asked already before the question.
    if (!ask) sayWindow(true)
    progress.install = { from: progress.check?.current ?? ctx.version, to: decision.version }
    ui.event({ type: 'downloading', name: decision.asset.name, size: decision.asset.size })
    return { install: decision }
  }
  ui.event({ type: 'checking' })
  let run: UpdateRun<UpdateOutcome>
  if (options.check || ask) {
    // A check changes nothing but the trust state (which has its own short lock), so it
    // does not wait for an update that is in progress; and the host-wide update lock is
    // never held while a question waits for a human. It is taken after the answer.
    const check = seen(await checkForUpdate(ctx))
    const offered = offer(check, options, ui)
    if (options.check) sayWindow(false)
    if ('stop' in offered) return offered.stop
    sayWindow(true)
    if (!(await ui.confirm(UPDATE_QUESTION))) {
      ui.event({ type: 'declined' })
      return outcome(check, 'declined')
    }
    // Check again under the lock: while the question was open another updater may have
    // installed this version (then what is installed now counts as current), or the
    // channel may have moved on. Only what was confirmed is installed.
    const confirmed = offered.install
    run = await updateUnderLock(
      ctx,
      (again) => {
        seen(again)
        if (sameInstall(confirmed, again.decision)) return download(again.decision)
        ui.event({ type: 'changed', confirmed: confirmed.version, now: again.decision, current: again.current, latest: again.latest })
        return { stop: outcome(again, 'changed') }
      },
      { installedBefore, verified: check.verified },
    )
  } else {
    run = await updateUnderLock(ctx, (check) => {
      const offered = offer(seen(check), options, ui)
      return 'stop' in offered ? offered : download(offered.install)
    })
  }
  if (run.kind === 'stopped') return run.value
  ui.event({ type: 'installed', result: run.result })
  return outcome(run.check, 'updated', run.result)
}

/**
 * `cco update --version X`: the release statement of X (fetched and verified first, no lock
 * needed), then the channel check under the update lock (whose verified manifest lists the
 * yanks), the decision (update/pin.ts), and the same install as any update. A refusal ends
 * with exit 1 and nothing changed; a statement that fails verification with exit 4.
 */
async function runPin(ctx: UpdateContext, options: UpdateOptions, requested: string, ui: UpdateUi, progress: Progress): Promise<UpdateOutcome> {
  ui.event({ type: 'checking' })
  const statement = await verifyReleaseManifest({
    bytes: await fetchReleaseManifest(ctx.http, ctx.server, requested),
    version: requested,
    keys: ctx.trustKeys,
    now: ctx.clock.now(),
  })
  const ask = !options.check && !options.yes && (options.prompt || ui.interactive)
  const installedBefore = ask ? fileIdentity(ctx.paths.installPath) : null
  // The last decision, for the outcome.
  let decided: PinDecision | null = null
  const decide = (check: CheckResult): PinDecision => {
    progress.check = check
    return (decided = decidePin({ statement: statement.payload, channel: check.manifest, running: check.current, platform: ctx.platform, allowDowngrade: !!options.allowDowngrade }))
  }
  const view = (check: CheckResult, d: PinDecision): PinView => ({
    requested_version: requested,
    version: statement.payload.version,
    direction: d.kind === 'install' ? d.direction : 'same',
    signed_by: statement.kid,
    expires_at: statement.payload.expires_at,
    daemon_next_version: nextAfterPin(check.manifest, statement.payload.version, ctx.hostId, ctx.platform),
    auto_install: ctx.config.updates.enabled && ctx.config.updates.auto_install,
  })
  const pinOutcome = (check: CheckResult, d: PinDecision, status: UpdateStatus, installed: InstallResult | null = null): UpdateOutcome => ({
    ...outcome(check, status, installed),
    decision: { kind: d.kind === 'install' ? 'install' : 'none', detail: d.detail },
    notes: null,
    notes_url: statement.payload.notes_url,
    pin: view(check, d),
  })
  // Shows the decision; stops, refuses (exit 1) or goes on to install.
  const offer = (check: CheckResult, d: PinDecision, say: boolean): UnderLockStep<UpdateOutcome> => {
    if (say) ui.event({ type: 'pin-versions', current: check.current, requested: statement.payload.version, direction: d.kind === 'install' ? d.direction : 'same' })
    if (d.kind === 'refuse') throw new CliError(`Not installing ${d.version}: ${d.detail}`, ExitCode.failure, d.why === 'no-asset' ? { kind: 'no-asset' } : undefined)
    if (d.kind === 'none') {
      ui.event({ type: 'pin-same', version: check.current })
      return { stop: pinOutcome(check, d, 'up-to-date') }
    }
    if (options.check) {
      ui.event({ type: 'pin-available', version: d.version })
      return { stop: pinOutcome(check, d, 'available') }
    }
    return { install: d }
  }
  const download = (d: InstallDecision): UnderLockStep<UpdateOutcome> => {
    const w = windowEvent(ctx, true)
    if (w && !ask) ui.event(w)
    progress.install = { from: progress.check?.current ?? ctx.version, to: d.version }
    ui.event({ type: 'downloading', name: d.asset.name, size: d.asset.size })
    return { install: d }
  }

  let run: UpdateRun<UpdateOutcome>
  if (options.check || ask) {
    // As for a channel update: the question never holds the host's update lock.
    const check = await checkForUpdate(ctx)
    const offered = offer(check, decide(check), true)
    if ('stop' in offered) return offered.stop
    const w = windowEvent(ctx, true)
    if (w) ui.event(w)
    if (!(await ui.confirm(`Install ${statement.payload.version} now? [Y/n]: `))) {
      ui.event({ type: 'declined' })
      return pinOutcome(check, decided!, 'declined')
    }
    // Decided again under the lock: another updater may have installed X meanwhile, or the
    // channel may have yanked it. The statement is the same, so an install is the confirmed one.
    run = await updateUnderLock(ctx, (again) => {
      const step = offer(again, decide(again), false)
      return 'stop' in step ? step : download(step.install)
    }, { installedBefore, verified: check.verified })
  } else {
    run = await updateUnderLock(ctx, (check) => {
      const step = offer(check, decide(check), true)
      return 'stop' in step ? step : download(step.install)
    })
  }
  if (run.kind === 'stopped') return run.value
  ui.event({ type: 'installed', result: run.result })
  const result = pinOutcome(run.check, decided!, 'updated', run.result)
  ui.event({ type: 'pin-after', version: run.result.version, next: result.pin!.daemon_next_version, autoInstall: result.pin!.auto_install, channel: run.check.channel })
  return result
}
