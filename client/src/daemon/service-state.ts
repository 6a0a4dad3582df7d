// What the daemon knows between two ticks (its settings, its last check and what that found, the
// last failure, this cycle's jitter) and how each event changes it. No I/O: the time is passed in
// and every transition returns the log lines it causes, so each rule is a plain unit test.
import type { LoadedConfig } from '../config/load.ts'
import { checkIntervalMs, type Config } from '../config/schema.ts'
import { installSlot, windowsOf } from '../config/window.ts'
import { ExitCode } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import type { HealthBody } from '../system/health-probe.ts'
import type { LogLevel } from '../system/logger.ts'
import { redactUrl } from '../system/url-policy.ts'
import type { CheckOutcome } from './checks.ts'
import { backoffMs, drawJitterMs, formatDuration, planNextCheck, tickMs, type Failure, type Plan } from './scheduler.ts'

/**
 * `/health` says "degraded" instead of "ok" once this many update checks in a row have failed
 * (network, refused manifest, failed install), and "ok" again after the next check that
 * completes. Counted in checks, not in time, because the interval ranges from seconds to a
 * year: with the back-off (30 s, 1 min, …) three failures take about 1.5 minutes to show,
 * and one blip never does.
 */
export const DEGRADED_AFTER_FAILED_CHECKS = 3

/** A line for the daemon's log, written by the loop. */
export interface LogNote {
  level: LogLevel
  message: string
}

/** What the loop does next: run the scheduled check now, or sleep (and say when the next one is). */
export type NextStep = { kind: 'check' } | { kind: 'sleep'; ms: number; note: LogNote | null }

export interface ServiceStateOptions {
  loaded: LoadedConfig
  /** The address this process listens on, and whether `--port` chose the port. */
  host: string
  port: number
  portOverride: boolean
  version: string
  pid: number
  /** ms since the epoch. */
  startedAt: number
  /** [0, 1) like Math.random: the jitter source. */
  random: () => number
}

/** The settings the loop acts on; last_check/last_update change on every check and are not logged. */
function settings(c: Config): string {
  const u = c.updates
  return `updates.enabled=${u.enabled} check_interval=${u.check_interval} auto_install=${u.auto_install} channel=${u.channel} server=${redactUrl(u.server)} window=${windowText(c)}`
}

function windowText(c: Config): string {
  return windowsOf(c.updates.window).map((w) => w.text).join('; ')
}

export function describeSchedule(c: Config): string {
  const u = c.updates
  if (!u.enabled) return 'Scheduled update checks are off (updates.enabled = false)'
  if (checkIntervalMs(u.check_interval) === null) return 'Scheduled update checks are off (updates.check_interval = never)'
  const window = windowText(c)
  return `Checking for updates ${u.check_interval} on channel ${u.channel} from ${redactUrl(u.server)} (auto-install ${u.auto_install ? 'on' : 'off'}${window && u.auto_install ? `, inside the maintenance window ${window}` : ''})`
}

export class ServiceState {
  loaded: LoadedConfig
  private badConfig: string | null = null
  /** This process's last completed check, to the millisecond. */
  private ownLastCheck: number | null = null
  private updateAvailable = false
  private latestVersion: string | null = null
  private failure: Failure | null = null
  /** No check attempted by this process yet. */
  private firstCycle = true
  private jitter = { key: '', ms: 0 }
  /** An update the last check found and left for the maintenance window: the host's bucket for it. */
  private waiting: { version: string; bucket: number } | null = null
  /** The check time last announced in the log, so that it is announced once. */
  private lastPlanned: number | null = null
  /** Update checks that failed in a row: since when, how many, the last error. */
  private failing: { since: number; count: number; lastError: string } | null = null

  private readonly o: ServiceStateOptions

  constructor(options: ServiceStateOptions) {
    this.o = options
    this.loaded = options.loaded
  }

  get config(): Config {
    return this.loaded.config
  }

  /** The last completed check, by this process or any other cco run (the config file keeps it). */
  lastCheck(): number | null {
    const stored = this.config.updates.last_check?.getTime() ?? null
    // The file keeps whole seconds; this process knows its own checks to the millisecond.
    if (stored === null) return this.ownLastCheck
    return this.ownLastCheck === null ? stored : Math.max(stored, this.ownLastCheck)
  }

  /** The `/health` answer at `now`. */
  health(now: number): HealthBody {
    const lc = this.lastCheck()
    const installAt = this.installAt(now)
    const degraded = this.failing !== null && this.failing.count >= DEGRADED_AFTER_FAILED_CHECKS ? this.failing : null
    return {
      status: degraded ? 'degraded' : 'ok',
      version: this.o.version,
      uptime_seconds: Math.floor((now - this.o.startedAt) / 1000),
      channel: this.config.updates.channel,
      last_check: lc === null ? null : toRfc3339(new Date(lc)),
      update_available: this.updateAvailable,
      latest_version: this.latestVersion,
      pid: this.o.pid,
      ...(installAt === null ? {} : { next_install_at: toRfc3339(new Date(installAt)) }),
      ...(degraded === null ? {} : { failed_checks: degraded.count, failing_since: toRfc3339(new Date(degraded.since)), last_error: degraded.lastError }),
    }
  }

  /** A check failed at `now` with `message`: one more in the row that makes `/health` degraded. */
  private checkFailed(now: number, message: string): LogNote[] {
    const was = this.failing?.count ?? 0
    this.failing = { since: this.failing?.since ?? now, count: was + 1, lastError: message }
    if (was + 1 !== DEGRADED_AFTER_FAILED_CHECKS) return []
    return [{ level: 'error', message: `Health is now degraded: ${was + 1} update checks in a row failed since ${toRfc3339(new Date(this.failing.since))}` }]
  }

  /** A check completed: the row of failures, if any, ends. */
  private checkCompleted(): LogNote[] {
    const was = this.failing
    this.failing = null
    return was !== null && was.count >= DEGRADED_AFTER_FAILED_CHECKS ? [{ level: 'info', message: `Health is ok again: an update check completed after ${was.count} failed ones` }] : []
  }

  /**
   * When the update that waits for the maintenance window is installed, as of `now` (the check
   * at that time installs it): computed from the config each time, so that a changed window (or
   * none, or auto_install turned off) takes effect without a restart. Null when nothing waits.
   */
  installAt(now: number): number | null {
    if (this.waiting === null || !this.config.updates.auto_install) return null
    return installSlot(windowsOf(this.config.updates.window), now, this.waiting.bucket)?.at ?? now
  }

  /** The config file was read again (`why` is `SIGHUP` when asked for, null on a plain tick). */
  configLoaded(next: LoadedConfig, why: string | null): LogNote[] {
    this.badConfig = null
    const prev = this.config
    const changed = settings(next.config) !== settings(prev)
    const addressChanged = next.config.daemon.port !== prev.daemon.port || next.config.daemon.host !== prev.daemon.host
    this.loaded = next
    const config = next.config
    const notes: LogNote[] = []
    if (changed) notes.push({ level: 'info', message: `Configuration changed: ${describeSchedule(config)}` })
    else if (why) notes.push({ level: 'info', message: `Configuration re-read (${why}): no change to the schedule` })
    if (addressChanged && !this.o.portOverride) {
      notes.push({
        level: 'warn',
        message: `daemon.host/daemon.port changed to ${config.daemon.host}:${config.daemon.port}; this daemon keeps ${this.o.host}:${this.o.port} until it is restarted (\`cco daemon restart\`)`,
      })
    }
    return notes
  }

  /** The config file could not be read: the previous settings stay, and the same problem is logged once. */
  configRefused(message: string): LogNote[] {
    const repeated = message === this.badConfig
    this.badConfig = message
    return repeated ? [] : [{ level: 'error', message: `Keeping the previous settings: ${message}` }]
  }

  /** When the next check is, as of `now` (the jitter is drawn once per cycle). */
  plan(now: number): Plan {
    const intervalMs = checkIntervalMs(this.config.updates.check_interval) ?? null
    const last = this.lastCheck()
    const key = `${last}:${intervalMs}:${this.failure?.at ?? ''}`
    if (intervalMs !== null && this.jitter.key !== key) this.jitter = { key, ms: drawJitterMs(intervalMs, this.o.random) }
    return planNextCheck({ now, enabled: this.config.updates.enabled, intervalMs, lastCheck: last, jitterMs: this.jitter.ms, failure: this.failure, firstCycle: this.firstCycle, installAt: this.installAt(now) })
  }

  /** One tick's decision. A check that is due counts as attempted from here on (no longer the first cycle). */
  nextStep(now: number): NextStep {
    const p = this.plan(now)
    if (p.kind === 'due' && p.at <= now) {
      this.firstCycle = false
      return { kind: 'check' }
    }
    const note: LogNote | null = p.kind === 'due' && p.at !== this.lastPlanned ? { level: 'debug', message: `Next check in ${formatDuration(p.at - now)} (${p.why})` } : null
    this.lastPlanned = p.kind === 'due' ? p.at : null
    return { kind: 'sleep', ms: tickMs(p, now), note }
  }

  /** A scheduled check ended at `now`: what it found, and the version to restart into if it installed one. */
  checkFinished(o: CheckOutcome, now: number): { restartInto: string | null; notes: LogNote[] } {
    const intervalMs = checkIntervalMs(this.config.updates.check_interval) ?? null
    switch (o.kind) {
      case 'checked':
        this.ownLastCheck = now
        this.failure = null
        this.waiting = null
        this.updateAvailable = o.updateAvailable
        this.latestVersion = o.latest
        return { restartInto: null, notes: this.checkCompleted() }
      case 'waiting':
        this.ownLastCheck = now
        this.failure = null
        this.waiting = { version: o.version, bucket: o.bucket }
        this.updateAvailable = true
        this.latestVersion = o.latest
        return { restartInto: null, notes: this.checkCompleted() }
      case 'installed':
        this.ownLastCheck = now
        this.failure = null
        this.waiting = null
        this.updateAvailable = false
        this.latestVersion = o.latest
        return { restartInto: o.version, notes: this.checkCompleted() }
      case 'network-error': {
        const attempts = this.failure?.kind === 'network' ? this.failure.attempts + 1 : 1
        this.failure = { kind: 'network', at: now, attempts }
        const retry = intervalMs === null ? '' : `; retrying in ${formatDuration(backoffMs(attempts, intervalMs))}`
        return { restartInto: null, notes: [{ level: 'warn', message: `Update check failed: ${o.message}${retry}` }, ...this.checkFailed(now, o.message)] }
      }
      case 'failed':
        this.failure = { kind: 'other', at: now }
        this.waiting = null
        return { restartInto: null, notes: [{ level: 'error', message: `${o.exitCode === ExitCode.refused ? 'Update refused' : 'Update failed'}: ${o.message}` }, ...this.checkFailed(now, o.message)] }
    }
  }
}
