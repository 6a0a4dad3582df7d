// `cco daemon status [--json]`: whether the pid file names a running cco daemon, confirmed by
// the kernel or the daemon's proof (a stale file is removed; one naming a process that cannot be
// confirmed is left and reported as not running), and what its `/health` says. The caller turns
// "not running" into exit 3 (LSB).
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { probeHealth, type HealthBody } from '../system/health-probe.ts'
import { findConfirmedDaemon } from '../system/pid-file.ts'

export interface DaemonStatus {
  running: boolean
  pid: number | null
  host: string
  port: number
  version: string | null
  started_at: string | null
  uptime_seconds: number | null
  /** `/health` answered "ok" (false for "degraded", whose details are in `health`). */
  healthy: boolean | null
  health: HealthBody | null
  /** Why `/health` did not answer, when it did not. */
  problem: string | null
  supervisor: string | null
  log: string
  /** Why a stale pid file was removed, if one was. */
  cleaned: string | null
  /** Why the live process the pid file names is not taken for the daemon, if it is not. */
  unconfirmed: string | null
}

export async function daemonStatusCommand(app: AppContext): Promise<DaemonStatus> {
  const found = await findConfirmedDaemon(app.paths.daemonPid)
  if (!found.running) {
    // Where it would listen, for the message; a broken config must not hide the answer.
    let host = '127.0.0.1'
    let port = 3000
    try {
      const { config } = loadConfig(app.paths.configFile)
      host = config.daemon.host
      port = config.daemon.port
    } catch {}
    const unconfirmed = found.unsure ? `the pid file names pid ${found.unsure.pid}, which is not confirmed as the cco daemon: ${found.unsure.why}` : null
    return { running: false, pid: null, host, port, version: null, started_at: null, uptime_seconds: null, healthy: null, health: null, problem: null, supervisor: null, log: app.paths.daemonLog, cleaned: found.cleaned, unconfirmed }
  }
  const r = found.record
  const answer = await probeHealth(r.host, r.port, 2_000)
  const startedMs = Date.parse(r.started_at)
  const uptime = answer.ok ? answer.body.uptime_seconds : Number.isNaN(startedMs) ? null : Math.max(0, Math.floor((app.clock.now().getTime() - startedMs) / 1000))
  return {
    running: true,
    pid: r.pid,
    host: r.host,
    port: r.port,
    version: answer.ok ? answer.body.version : r.version,
    started_at: r.started_at,
    uptime_seconds: uptime,
    healthy: answer.ok && answer.body.status === 'ok',
    health: answer.ok ? answer.body : null,
    problem: answer.ok ? null : answer.problem,
    supervisor: r.supervisor,
    log: app.paths.daemonLog,
    cleaned: null,
    unconfirmed: null,
  }
}
