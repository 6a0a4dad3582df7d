// After a manual `cco update` or `cco rollback`: ask a running daemon (SIGUSR2) to restart into
// the binary now at the install path, and wait for its successor to write the pid file with
// the new version. The install itself already succeeded; this only reports what happened.
import { sameVersion } from '../../../contract/version.ts'
import type { AppContext } from '../context.ts'
import type { UpdateHooks } from '../update/hooks.ts'
import { findConfirmedDaemon, readPidFile } from '../system/pid-file.ts'
import { isPidAlive } from '../system/process-info.ts'
import { signalPid } from '../system/daemon-launch.ts'
import { readHandover } from './handover-state.ts'

/** A bit more than the daemon's own health gate (30 s), so that its verdict arrives first. */
export const RESTART_WAIT_MS = 35_000

export type RestartReport =
  | { kind: 'none' }
  | { kind: 'already'; pid: number }
  | { kind: 'restarted'; pid: number }
  | { kind: 'rolled-back'; pid: number | null; detail: string }
  | { kind: 'timeout'; pid: number }
  | { kind: 'unsupported'; pid: number }

/** The hooks of `cco update` and `cco rollback`: a running daemon follows the binary just installed. */
export function restartDaemonHooks(app: Pick<AppContext, 'paths' | 'logger' | 'env'>): UpdateHooks {
  return {
    async afterInstall(event) {
      await restartRunningDaemon(app, event.version)
    },
  }
}

export async function restartRunningDaemon(
  app: Pick<AppContext, 'paths' | 'logger' | 'env'>,
  version: string,
  o: { waitMs?: number; pollMs?: number } = {},
): Promise<RestartReport> {
  // SIGUSR2 ends a process that does not handle it: only a confirmed daemon gets it.
  const found = await findConfirmedDaemon(app.paths.daemonPid)
  if (found.unsure) app.logger.warn(`⚠️  Not asking pid ${found.unsure.pid} to restart: ${found.unsure.why}`)
  if (!found.running || found.record.pid === process.pid) return { kind: 'none' }
  const old = found.record
  if (sameVersion(old.version, version)) return { kind: 'already', pid: old.pid }
  if (process.platform === 'win32' || !signalPid(old.pid, 'SIGUSR2')) {
    app.logger.warn(`⚠️  The running daemon (pid ${old.pid}) could not be asked to restart; run \`cco daemon restart\``)
    return { kind: 'unsupported', pid: old.pid }
  }
  // The handover record has whole seconds; anything from this second on is about this request.
  const askedAt = Math.floor(Date.now() / 1000) * 1000
  const deadline = Date.now() + (o.waitMs ?? RESTART_WAIT_MS)
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, o.pollMs ?? 200))
    const read = readPidFile(app.paths.daemonPid)
    // The verdict is the handover record: a successor writes its pid file as soon as it
    // listens, before the health gate has passed, so the pid file alone proves nothing.
    const h = readHandover(app.paths.stateDir)
    const recent = h !== null && Date.parse(h.at) >= askedAt
    if (!h || !recent || h.from_pid !== old.pid || !sameVersion(h.to_version, version)) continue
    if (h.phase === 'done' && read.kind === 'record' && read.record.pid !== old.pid && sameVersion(read.record.version, version) && isPidAlive(read.record.pid)) {
      app.logger.info(`↻ Restarted the running daemon (pid ${read.record.pid}) on version ${version}`)
      return { kind: 'restarted', pid: read.record.pid }
    }
    if (h.phase === 'rolled-back' || h.phase === 'failed') {
      const now = read.kind === 'record' ? read.record.pid : null
      app.logger.warn(`⚠️  The daemon did not become healthy on ${version}: ${h.detail || h.phase} (see \`cco daemon logs\`)`)
      return { kind: 'rolled-back', pid: now, detail: h.detail }
    }
  }
  app.logger.warn(`⚠️  The running daemon (pid ${old.pid}) did not restart on version ${version} in time; see \`cco daemon logs\`, or run \`cco daemon restart\``)
  return { kind: 'timeout', pid: old.pid }
}
