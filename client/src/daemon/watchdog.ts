// The health watchdog left behind by a supervised daemon after an update (`cco daemon watchdog`,
// run from the previous binary, now cco.backup). The daemon exits so that systemd or launchd
// starts the new binary; if `/health` does not report the new version in time, the watchdog
// puts the backup back and stops the new daemon, and the manager then starts the restored one.
import type { Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { messageOf } from '../errors.ts'
import { healthEvent, rollbackEvent } from '../fleet/events.ts'
import { fleetReporter } from '../fleet/reporter.ts'
import { toRfc3339 } from '../system/clock.ts'
import { terminate } from '../system/daemon-launch.ts'
import { probeHealth } from '../system/health-probe.ts'
import { confirmDaemon, kernelVerdict } from '../system/daemon-identity.ts'
import { readPidFile } from '../system/pid-file.ts'
import { probeBinary } from '../update/probe.ts'
import { writeHandover } from './handover-state.ts'
import { restoreBackup, waitForVersion } from './handover.ts'
import { sameVersion } from '../../../contract/version.ts'

export interface WatchdogOptions {
  expect: string
  /** The version the backup must hold to be restored (the daemon's version before the update). */
  restore?: string
  host: string
  port: number
  timeoutMs: number
  /** The daemon that handed over, for the handover record. */
  guardPid?: number
}

export type WatchdogOutcome =
  | { outcome: 'healthy'; version: string; pid: number | null }
  | { outcome: 'rolled-back'; version: string; restarted: boolean; problem: string }
  | { outcome: 'failed'; problem: string }

/**
 * Whether a pid named by a `/health` answer is a cco daemon of ours. Anything on the machine can
 * answer on the port, unauthenticated, and name any pid: only a process the kernel shows to be
 * `cco run` of this user is stopped (where /proc is missing, none is).
 */
function runsCco(pid: number): boolean {
  return kernelVerdict(pid, null).kind === 'ours'
}

/** Stops whatever cco daemon answers (or the pid file names) that is not `keep`. */
async function stopNewDaemon(app: AppContext, o: WatchdogOptions, keep: string): Promise<number[]> {
  const pids = new Set<number>()
  const read = readPidFile(app.paths.daemonPid)
  if (read.kind === 'record' && !sameVersion(read.record.version, keep)) {
    const c = await confirmDaemon(read.record)
    if (c.ok) pids.add(read.record.pid)
    else if (!c.stale) app.logger.warn(`Watchdog: not stopping pid ${read.record.pid} from the pid file: ${c.why}`)
  }
  const answer = await probeHealth(o.host, o.port, 1_000)
  const raw = answer.raw
  try {
    const body = raw ? (JSON.parse(raw) as { pid?: unknown; version?: unknown }) : null
    if (body && typeof body.pid === 'number' && typeof body.version === 'string' && !sameVersion(body.version, keep) && !pids.has(body.pid)) {
      if (runsCco(body.pid)) pids.add(body.pid)
      else app.logger.warn(`Watchdog: not stopping pid ${body.pid}: ${o.host}:${o.port} names it in /health, but it is not a cco process`)
    }
  } catch {}
  pids.delete(process.pid)
  for (const pid of pids) await terminate(pid, 5_000)
  return [...pids]
}

export async function runWatchdog(app: AppContext, config: Config, configPath: string, o: WatchdogOptions): Promise<WatchdogOutcome> {
  const log = app.logger
  const secs = Math.round(o.timeoutMs / 1000)
  const record = (phase: 'done' | 'rolled-back' | 'failed', detail = '') =>
    writeHandover(app.paths.stateDir, {
      from_pid: o.guardPid ?? process.pid,
      from_version: o.restore ?? app.version,
      to_version: o.expect,
      phase,
      at: toRfc3339(app.clock.now()),
      detail,
    })
  // The verdict goes into the fleet queue; the caller sends it before this process ends.
  const fleet = fleetReporter(app, config)
  const from = o.restore ?? app.version
  log.info(`Watchdog (pid ${process.pid}): waiting up to ${secs} s for ${o.expect} to report healthy on ${o.host}:${o.port}`)
  const first = await waitForVersion(o, o.expect, { timeoutMs: o.timeoutMs, pollMs: 500 })
  if (first.ok) {
    log.info(`Watchdog: ${o.expect} is healthy${first.pid ? ` (pid ${first.pid})` : ''}`)
    record('done')
    await fleet.record(healthEvent(from, o.expect, true), o.expect)
    return { outcome: 'healthy', version: o.expect, pid: first.pid }
  }
  log.error(`Watchdog: ${o.expect} did not become healthy within ${secs} s: ${first.problem}`)
  await fleet.record(healthEvent(from, o.expect, false), o.expect)

  const backup = await probeBinary(app.paths.backupPath, app.env, o.restore ?? null)
  if (backup.kind !== 'reports') {
    const what = backup.kind === 'other' ? `cco.backup is ${backup.version}, not ${o.restore}` : `cco.backup does not run (${backup.problem})`
    log.error(`Watchdog: not rolling back: ${what}`)
    record('failed', `did not become healthy within ${secs} s; ${what}`)
    return { outcome: 'failed', problem: what }
  }
  try {
    await restoreBackup(app, config, configPath)
    await fleet.record(rollbackEvent(o.expect, backup.version), backup.version)
  } catch (err) {
    await fleet.record(rollbackEvent(o.expect, backup.version, err), o.expect)
    log.error(`Watchdog: rolling back to ${backup.version} failed: ${messageOf(err)}`)
    record('failed', `did not become healthy within ${secs} s; rolling back failed: ${messageOf(err)}`)
    return { outcome: 'failed', problem: messageOf(err) }
  }
  // The binary is restored first, so that whatever the manager starts next is the old one.
  const stopped = await stopNewDaemon(app, o, backup.version)
  log.warn(`New daemon did not become healthy within ${secs} s; rolled back to ${backup.version}${stopped.length ? ` (stopped pid ${stopped.join(', ')})` : ''}`)
  record('rolled-back', `did not become healthy within ${secs} s (${first.problem}); rolled back to ${backup.version}`)
  const again = await waitForVersion(o, backup.version, { timeoutMs: o.timeoutMs, pollMs: 500 })
  if (again.ok) log.info(`Watchdog: ${backup.version} is running again${again.pid ? ` (pid ${again.pid})` : ''}`)
  else log.error(`Watchdog: ${backup.version} is not answering yet either: ${again.problem}`)
  return { outcome: 'rolled-back', version: backup.version, restarted: again.ok, problem: first.problem }
}
