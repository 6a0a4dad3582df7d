// Where the daemon's log lines go: stdout in the foreground (`cco run`), `daemon.log` (rotated)
// when started by `cco daemon start`, by a restart into a new binary, or by a service manager
// (under systemd the lines also go to stdout, for the journal). `cco run --debug` in the
// foreground writes both: whoever debugs follows it with `cco daemon logs --follow` or greps
// daemon.log, as the administrator guide says. Without --debug the foreground keeps to stdout,
// which a terminal, a container runtime or a service manager already keeps.
import type { AppContext } from '../context.ts'
import { envValue, type Env } from '../system/env.ts'
import { createTimestampLogger, type LineSink, type Logger } from '../system/logger.ts'
import { openRotatingLog, type RotatingLogOptions } from '../system/rotating-log.ts'

/** Set by `cco daemon start` and by restarts into a new binary: log to `daemon.log`. */
export const DETACHED_ENV = 'CCO_DAEMON_DETACHED'
/** Set by the service units (systemd, launchd): a manager restarts the daemon when it exits. */
export const SUPERVISED_ENV = 'CCO_SUPERVISED'
/** The pid a new daemon takes over from (it still holds the pid file while the successor starts). */
export const HANDOVER_FROM_ENV = 'CCO_DAEMON_HANDOVER_FROM'

export function supervisorOf(env: Env): string | null {
  return envValue(env, SUPERVISED_ENV) ?? null
}

export function logsToFile(env: Env): boolean {
  return envValue(env, DETACHED_ENV) === '1' || supervisorOf(env) !== null
}

export interface DaemonLog {
  logger: Logger
  /** `daemon.log`, `stdout`, or both, for the start line. */
  target: string
  close(): void
}

export function openDaemonLog(app: AppContext, o: { debug: boolean; rotation?: RotatingLogOptions }): DaemonLog {
  const level = o.debug ? 'debug' : 'info'
  const toFile = logsToFile(app.env)
  if (!toFile && !o.debug) {
    return { logger: createTimestampLogger(app.stdout, app.clock, level), target: 'stdout', close() {} }
  }
  const file = openRotatingLog(app.paths.daemonLog, o.rotation)
  const sinks: LineSink[] = [file]
  if (!toFile || supervisorOf(app.env) === 'systemd') sinks.push(app.stdout)
  const tee: LineSink = { write: (text) => sinks.forEach((s) => s.write(text)) }
  return { logger: createTimestampLogger(tee, app.clock, level), target: toFile ? app.paths.daemonLog : `stdout and ${app.paths.daemonLog}`, close: () => file.close() }
}
