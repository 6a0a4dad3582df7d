// `cco run [--debug] [--port N]`: the daemon service in the foreground, until a signal stops
// it or it hands over to a new binary after an update. A single executable first replaces
// itself with its private copy (daemon/private-copy.ts), so that the install path is never
// busy while the daemon runs.
import type { AppContext } from '../context.ts'
import { asInstalledDaemon, execFromPrivateCopy, removeOwnCopy } from '../daemon/private-copy.ts'
import { runService, type ServiceResult } from '../daemon/service.ts'

export interface RunOptions {
  port?: number
  debug: boolean
}

export async function runCommand(base: AppContext, o: RunOptions): Promise<ServiceResult> {
  // Returns only when the daemon runs where it is: a bundle, already the copy, or no copy possible.
  const copy = await execFromPrivateCopy(base)
  const app = asInstalledDaemon(base)
  try {
    return await runService(app, { port: o.port, debug: o.debug, inPlace: copy.kind === 'in-place' ? copy.why : null })
  } finally {
    removeOwnCopy(app.paths)
  }
}
