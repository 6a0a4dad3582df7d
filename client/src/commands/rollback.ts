// `cco rollback`: puts cco.backup back (verified), keeping the replaced binary as the new
// cco.backup, so a second rollback returns to where you were. With fleet reports on, the
// rollback (or its failure) is reported before a running daemon restarts into the result.
import { loadConfig } from '../config/load.ts'
import { ConfigSchema } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { restartDaemonHooks } from '../daemon/restart-request.ts'
import { messageOf } from '../errors.ts'
import { rollbackEvent } from '../fleet/events.ts'
import { fleetReporter } from '../fleet/reporter.ts'
import { probeVersion } from '../system/probe-version.ts'
import { createUpdateContext } from '../update/context.ts'
import type { UpdateHooks } from '../update/hooks.ts'
import { rollbackToBackup, type RollbackResult } from '../update/rollback.ts'

export async function rollbackCommand(app: AppContext): Promise<RollbackResult> {
  // Rollback is the way out of a bad state: a broken config must not block it.
  let config = ConfigSchema.parse({})
  try {
    config = loadConfig(app.paths.configFile).config
  } catch (err) {
    app.logger.warn(`warning: ignoring the config file for this rollback: ${messageOf(err)}`)
  }
  const fleet = fleetReporter(app, config)
  const restart = restartDaemonHooks(app)
  // What the install path runs before the rollback: the version a rollback event leaves.
  const before = fleet.enabled ? await probeVersion(app.paths.installPath, app.env) : null
  const from = before?.ok ? before.version : app.version
  let reported = false
  const hooks: UpdateHooks = {
    async afterInstall(event) {
      if (fleet.enabled) {
        reported = true
        await fleet.record(rollbackEvent(from, event.version), event.version)
        await fleet.send()
      }
      await restart.afterInstall(event)
    },
  }
  const ctx = createUpdateContext(app, config, app.paths.configFile, { hooks })
  try {
    return await rollbackToBackup(ctx)
  } catch (err) {
    if (fleet.enabled && !reported) {
      await fleet.record(rollbackEvent(from, null, err), from)
      await fleet.send()
    }
    throw err
  } finally {
    await ctx.http.close()
  }
}
