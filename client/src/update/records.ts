// Records `updates.last_check` / `updates.last_update` in the config file and the same events
// in `updates.log`. Best effort: a read-only config must not fail a completed update.
import { writeConfigChanges } from '../config/store.ts'
import { messageOf } from '../errors.ts'
import { toRfc3339, type Clock } from '../system/clock.ts'
import type { Logger } from '../system/logger.ts'
import { appendUpdateLog } from '../system/update-log.ts'

export interface RecordContext {
  configPath: string
  updatesLog: string
  clock: Clock
  logger: Logger
}

function record(ctx: RecordContext, key: 'updates.last_check' | 'updates.last_update', message: string): void {
  const now = ctx.clock.now()
  try {
    writeConfigChanges(ctx.configPath, [{ key, value: toRfc3339(now) }])
  } catch (err) {
    ctx.logger.warn(`warning: could not record ${key} in ${ctx.configPath}: ${messageOf(err)}`)
  }
  if (!appendUpdateLog(ctx.updatesLog, ctx.clock, 'info', message)) ctx.logger.warn(`warning: could not append to ${ctx.updatesLog}`)
}

export function recordCheck(ctx: RecordContext, message: string): void {
  record(ctx, 'updates.last_check', message)
}

export function recordInstall(ctx: RecordContext, message: string): void {
  record(ctx, 'updates.last_update', message)
}
