// `cco daemon restart`: stop (if running) then start; the new daemon has a new pid.
import type { AppContext } from '../context.ts'
import { daemonStartCommand, type DaemonStartOptions, type DaemonStartResult } from './daemon-start.ts'
import { daemonStopCommand, type DaemonStopResult } from './daemon-stop.ts'

export interface DaemonRestartResult {
  stopped: DaemonStopResult
  started: DaemonStartResult
}

export async function daemonRestartCommand(app: AppContext, o: DaemonStartOptions = {}): Promise<DaemonRestartResult> {
  const stopped = await daemonStopCommand(app)
  const started = await daemonStartCommand(app, o)
  return { stopped, started }
}
