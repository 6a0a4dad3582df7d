// `cco daemon watchdog --expect Y --port P --timeout S …` (hidden): started by a supervised
// daemon after an update, from the previous binary. See daemon/watchdog.ts.
import { loadConfig } from '../config/load.ts'
import { ConfigSchema, type Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { CliError, ExitCode, messageOf } from '../errors.ts'
import { openDaemonLog } from '../daemon/log-sink.ts'
import { runWatchdog, type WatchdogOutcome } from '../daemon/watchdog.ts'
import { fleetReporter } from '../fleet/reporter.ts'
import { backupPathFor } from '../system/paths.ts'
import { recoverInterruptedInstall } from '../update/recover.ts'

export interface DaemonWatchdogOptions {
  expect: string
  restore?: string
  host: string
  port: number
  timeoutSeconds: number
  /** The install path of the daemon being guarded: this process runs from cco.backup. */
  installPath?: string
  guardPid?: number
}

export async function daemonWatchdogCommand(base: AppContext, o: DaemonWatchdogOptions): Promise<WatchdogOutcome> {
  const paths = o.installPath ? { ...base.paths, installPath: o.installPath, backupPath: backupPathFor(o.installPath) } : base.paths
  const daemonLog = openDaemonLog({ ...base, paths }, { debug: false })
  const app: AppContext = { ...base, paths, logger: daemonLog.logger }
  // Restoring the backup is the way out of a bad state: a broken config must not block it.
  let config: Config = ConfigSchema.parse({})
  try {
    config = loadConfig(paths.configFile).config
  } catch (err) {
    app.logger.warn(`Watchdog: ignoring the config file: ${messageOf(err)}`)
  }
  // The recovery every command runs first saw this binary's own path as the install path and
  // left the guarded install's journal alone: settle it now, before a restore writes another.
  await recoverInterruptedInstall(app).catch((err: unknown) => app.logger.warn(`Watchdog: could not check for an interrupted install: ${messageOf(err)}`))
  try {
    const outcome = await runWatchdog(app, config, paths.configFile, {
      expect: o.expect,
      restore: o.restore,
      host: o.host,
      port: o.port,
      timeoutMs: o.timeoutSeconds * 1000,
      guardPid: o.guardPid,
    })
    if (outcome.outcome === 'failed') throw new CliError(`watchdog: ${outcome.problem}`, ExitCode.failure)
    return outcome
  } finally {
    // The verdict it queued is sent now (within the reporter's deadline); what is not sent
    // stays queued for the daemon the service manager starts.
    await fleetReporter(app, config).send()
    daemonLog.close()
  }
}
