// `cco daemon start [--port N] [--debug]`: the same program, detached in its own session with
// its output in daemon.log; returns once `/health` answers from the new pid, or fails with the
// log's last lines.
import { statSync } from 'node:fs'
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { CliError, ExitCode } from '../errors.ts'
import { waitForVersion } from '../daemon/handover.ts'
import { DETACHED_ENV, HANDOVER_FROM_ENV, SUPERVISED_ENV } from '../daemon/log-sink.ts'
import { currentProgram, signalGroup, spawnDetached, waitForExit } from '../system/daemon-launch.ts'
import { lastLines } from '../system/log-tail.ts'
import { findRunningDaemon } from '../system/pid-file.ts'

export const START_TIMEOUT_MS = 15_000
const TAIL_LINES = 15

export interface DaemonStartOptions {
  port?: number
  debug?: boolean
  timeoutMs?: number
}

export interface DaemonStartResult {
  pid: number
  host: string
  port: number
  version: string
  log: string
  started_in_ms: number
  /** Why an old pid file was removed first, if one was. */
  cleaned: string | null
}

/** The last lines the log got since `offset` (this start's), at most `n`. */
function newLogLines(path: string, offset: number, n: number): string[] {
  const tail = lastLines(path, n)
  if (!tail) return []
  // Count back from the end, keeping the lines that start at or after `offset` (all of them
  // when the file is now smaller: it was rotated meanwhile).
  const rotated = tail.size < offset
  let start = tail.size
  const keep: string[] = []
  for (let i = tail.lines.length - 1; i >= 0; i--) {
    const line = tail.lines[i]!
    start -= Buffer.byteLength(line) + 1
    if (!rotated && start < offset) break
    keep.unshift(line)
  }
  return keep
}

export async function daemonStartCommand(app: AppContext, o: DaemonStartOptions = {}): Promise<DaemonStartResult> {
  const started = Date.now()
  const found = findRunningDaemon(app.paths.daemonPid)
  if (found.running) {
    throw new CliError(`cco daemon is already running (pid ${found.record.pid}, port ${found.record.port})`, ExitCode.failure)
  }
  const { config } = loadConfig(app.paths.configFile)
  const host = config.daemon.host
  const port = o.port ?? config.daemon.port
  const logFile = app.paths.daemonLog
  const offset = statSync(logFile, { throwIfNoEntry: false })?.size ?? 0

  const env: Record<string, string | undefined> = { ...app.env, [DETACHED_ENV]: '1' }
  // Started by hand, not by a service manager, and not taking over from anyone.
  delete env[SUPERVISED_ENV]
  delete env[HANDOVER_FROM_ENV]
  const args = ['run']
  if (o.port !== undefined) args.push('--port', String(o.port))
  if (o.debug) args.push('--debug')
  const child = spawnDetached(currentProgram(), args, { env, logFile, cwd: app.paths.home })
  let exited: string | null = null
  child.once('exit', (code, signal) => (exited = `it exited (${signal ?? `status ${code}`})`))
  child.once('error', (err) => (exited = `it could not be started: ${err.message}`))

  const health = await waitForVersion({ host, port }, app.version, { timeoutMs: o.timeoutMs ?? START_TIMEOUT_MS, pid: child.pid, exited: () => exited, pollMs: 100 })
  if (!health.ok) {
    if (child.pid !== undefined && exited === null) {
      signalGroup(child.pid, 'SIGKILL')
      await waitForExit(child.pid, 5_000)
    }
    const tail = newLogLines(logFile, offset, TAIL_LINES)
    const shown = tail.length ? [`Last lines of ${logFile}:`, ...tail.map((l) => `  ${l}`)] : [`(${logFile} has nothing new)`]
    throw new CliError([`❌ cco daemon did not start: ${exited ?? health.problem}`, ...shown], ExitCode.failure)
  }
  return {
    pid: child.pid!,
    host,
    port,
    version: app.version,
    log: logFile,
    started_in_ms: Date.now() - started,
    cleaned: found.cleaned,
  }
}
