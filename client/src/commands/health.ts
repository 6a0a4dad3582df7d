// `cco health`: asks the running daemon's `/health` (host and port from the pid file, else the
// config). Not reachable or not answering is exit 3, like `cco daemon status`. A daemon that
// answers "degraded" (its update checks keep failing) is running: exit 0, LSB's "running", and
// the printer says what fails; a script that needs "ok" reads the status (the guide's
// health-check.sh greps for "status":"ok").
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { DaemonNotRunningError } from '../daemon/errors.ts'
import { healthUrl, probeHealth, type HealthBody } from '../system/health-probe.ts'
import { readPidFile } from '../system/pid-file.ts'

export interface HealthResult {
  /** `status` is "ok"; false when the daemon answers "degraded". */
  healthy: boolean
  status: string
  url: string
  health: HealthBody
  /** The compact JSON line exactly as the daemon sent it. */
  raw: string
}

export async function healthCommand(app: AppContext, o: { timeoutMs?: number } = {}): Promise<HealthResult> {
  const read = readPidFile(app.paths.daemonPid)
  let host: string
  let port: number
  if (read.kind === 'record') {
    host = read.record.host
    port = read.record.port
  } else {
    const { config } = loadConfig(app.paths.configFile)
    host = config.daemon.host
    port = config.daemon.port
  }
  const answer = await probeHealth(host, port, o.timeoutMs ?? 3_000)
  if (!answer.ok) throw new DaemonNotRunningError(`❌ cco daemon is not healthy: ${answer.problem}`)
  return { healthy: answer.body.status === 'ok', status: answer.body.status, url: healthUrl(host, port), health: answer.body, raw: answer.raw }
}
