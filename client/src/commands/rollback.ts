// `cco rollback`: puts cco.backup back (verified), keeping the replaced binary as the new
// cco.backup, so a second rollback returns to where you were.
import { loadConfig } from '../config/load.ts'
import { ConfigSchema } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { restartDaemonHooks } from '../daemon/restart-request.ts'
import { messageOf } from '../errors.ts'
import { createUpdateContext } from '../update/context.ts'
import { rollbackToBackup, type RollbackResult } from '../update/rollback.ts'

export async function rollbackCommand(app: AppContext): Promise<RollbackResult> {
  // Rollback is the way out of a bad state: a broken config must not block it.
  let config = ConfigSchema.parse({})
  try {
    config = loadConfig(app.paths.configFile).config
  } catch (err) {
    app.logger.warn(`warning: ignoring the config file for this rollback: ${messageOf(err)}`)
  }
  const ctx = createUpdateContext(app, config, app.paths.configFile, { hooks: restartDaemonHooks(app) })
  try {
    return await rollbackToBackup(ctx)
  } finally {
    await ctx.http.close()
  }
}
