// `cco daemon stop`: SIGTERM, up to 10 s for a clean exit, then SIGKILL to its process group;
// the pid file is removed. Stopping a daemon that is not running is not an error (exit 0), so
// that scripts and `restart` can call it unconditionally. Only a process confirmed to be our
// daemon is signalled (system/daemon-identity.ts): a pid file naming another program is stale,
// one naming a process that cannot be confirmed is refused (exit 1) and left as it is.
import type { AppContext } from '../context.ts'
import { CliError, ExitCode } from '../errors.ts'
import { sweepStaleCopies } from '../daemon/private-copy.ts'
import { terminate } from '../system/daemon-launch.ts'
import { findConfirmedDaemon, removePidFileIfOwned } from '../system/pid-file.ts'
import { SYSTEMD_UNIT_NAME, LAUNCHD_LABEL } from '../system/service-units.ts'

export const STOP_GRACE_MS = 10_000

export interface DaemonStopResult {
  was_running: boolean
  pid: number | null
  /** terminated: exited after SIGTERM; killed: needed SIGKILL; gone: exited by itself meanwhile. */
  how: 'terminated' | 'killed' | 'gone' | null
  cleaned: string | null
  /** Set when a service manager runs the daemon (it may start it again). */
  supervisor: string | null
  hint: string | null
}

export async function daemonStopCommand(app: AppContext, o: { graceMs?: number } = {}): Promise<DaemonStopResult> {
  const found = await findConfirmedDaemon(app.paths.daemonPid)
  if (found.unsure) {
    throw new CliError(`not stopping pid ${found.unsure.pid}: ${found.unsure.why}; nothing was signalled and ${app.paths.daemonPid} was left as it is`, ExitCode.failure)
  }
  if (!found.running) {
    sweepStaleCopies(app.paths)
    return { was_running: false, pid: null, how: null, cleaned: found.cleaned, supervisor: null, hint: null }
  }
  const { pid, supervisor, start_ticks } = found.record
  const how = await terminate(pid, o.graceMs ?? STOP_GRACE_MS, { startTicks: start_ticks })
  removePidFileIfOwned(app.paths.daemonPid, pid)
  // A daemon removes its private copy as it exits; one that needed SIGKILL cannot.
  sweepStaleCopies(app.paths)
  const hint =
    supervisor === 'systemd'
      ? `it runs under systemd, which starts it again: use \`systemctl --user stop ${SYSTEMD_UNIT_NAME}\``
      : supervisor === 'launchd'
        ? `it runs under launchd, which starts it again: use \`launchctl bootout gui/$(id -u)/${LAUNCHD_LABEL}\``
        : supervisor
          ? `it runs under ${supervisor}, which may start it again`
          : null
  return { was_running: true, pid, how, cleaned: null, supervisor, hint }
}
