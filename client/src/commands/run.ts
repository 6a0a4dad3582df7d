// `cco run [--debug] [--port N]`: the daemon service in the foreground, until a signal stops
// it or it hands over to a new binary after an update.
import type { AppContext } from '../context.ts'
import { runService, type ServiceResult } from '../daemon/service.ts'

export interface RunOptions {
  port?: number
  debug: boolean
}

export function runCommand(app: AppContext, o: RunOptions): Promise<ServiceResult> {
  return runService(app, { port: o.port, debug: o.debug })
}
