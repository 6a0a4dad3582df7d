// The daemon's pid file (`daemon.pid` in the state dir): who is serving, on which port, since
// when, from which binary. Written atomically by the service itself once it listens, so that
// a pid file always names a process that got as far as accepting connections.
import { readFileSync, rmSync } from 'node:fs'
import { basename } from 'node:path'
import { z } from 'zod'
import { errnoCode } from '../errors.ts'
import { writeFileAtomic } from './fs-atomic.ts'
import { isPidAlive, processStartTicks } from './process-info.ts'

export const PidRecordSchema = z.object({
  pid: z.int().positive(),
  port: z.int(),
  host: z.string(),
  version: z.string(),
  started_at: z.string(),
  /** The program that runs: the single executable, or the script/bundle given to node. */
  binary: z.string(),
  /** Kernel start time of the process (Linux), to tell a reused pid from ours. */
  start_ticks: z.string().nullable().default(null),
  /** `CCO_SUPERVISED` of the process (systemd, launchd), null when started by cco itself. */
  supervisor: z.string().nullable().default(null),
})
export type PidRecord = z.infer<typeof PidRecordSchema>

export type PidFileRead = { kind: 'none' } | { kind: 'corrupt'; reason: string } | { kind: 'record'; record: PidRecord }

export function readPidFile(path: string): PidFileRead {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { kind: 'none' }
    return { kind: 'corrupt', reason: String(err) }
  }
  try {
    return { kind: 'record', record: PidRecordSchema.parse(JSON.parse(text)) }
  } catch (err) {
    return { kind: 'corrupt', reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) }
  }
}

export function writePidFile(path: string, record: PidRecord): void {
  writeFileAtomic(path, `${JSON.stringify(record)}\n`)
}

/** Removes the pid file only while it still names `pid` (a successor may have written its own). */
export function removePidFileIfOwned(path: string, pid: number): boolean {
  const read = readPidFile(path)
  if (read.kind === 'record' && read.record.pid !== pid) return false
  rmSync(path, { force: true })
  return true
}

export function removePidFile(path: string): void {
  rmSync(path, { force: true })
}

/** The arguments a process was started with (Linux `/proc/<pid>/cmdline`), null elsewhere. */
export function processArgs(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return raw.split('\0').filter((a) => a !== '')
  } catch {
    return null
  }
}

const CCO_NAME = /^cco(\.backup)?(\.exe)?$|^cco-\d/

/**
 * Whether an argument list looks like a cco process: it names the recorded binary, or a
 * program called cco (a bundle, a backup, the source entry).
 */
export function looksLikeCco(args: readonly string[], binary?: string): boolean {
  return args.some((a) => (binary !== undefined && a === binary) || CCO_NAME.test(basename(a)) || a.endsWith('client/src/cli.ts'))
}

export type DaemonLiveness = 'alive' | 'dead' | 'not-cco'

/**
 * Does the pid file name a running cco daemon? `dead`: no such process; `not-cco`: the pid was
 * reused by another process (a different start time, or a command line that is not cco). Where
 * /proc is missing, a live pid is taken at its word.
 */
export function daemonLiveness(record: PidRecord): DaemonLiveness {
  if (record.pid === process.pid) return 'alive'
  if (!isPidAlive(record.pid)) return 'dead'
  if (record.start_ticks) {
    const now = processStartTicks(record.pid)
    if (now !== null && now !== record.start_ticks) return 'not-cco'
  }
  const args = processArgs(record.pid)
  if (args !== null && !looksLikeCco(args, record.binary)) return 'not-cco'
  return 'alive'
}

export type RunningDaemon = { running: true; record: PidRecord } | { running: false; cleaned: string | null }

/**
 * The daemon the pid file names, if it runs. A stale file (dead pid, reused pid, unreadable)
 * is removed, and `cleaned` says why.
 */
export function findRunningDaemon(path: string): RunningDaemon {
  const read = readPidFile(path)
  if (read.kind === 'none') return { running: false, cleaned: null }
  if (read.kind === 'corrupt') {
    removePidFile(path)
    return { running: false, cleaned: `removed an unreadable pid file (${read.reason})` }
  }
  const live = daemonLiveness(read.record)
  if (live === 'alive') return { running: true, record: read.record }
  // Remove it only if it still says the same thing (a daemon may be starting right now).
  const again = readPidFile(path)
  if (again.kind === 'record' && again.record.pid === read.record.pid) removePidFile(path)
  const why = live === 'dead' ? `pid ${read.record.pid} is not running` : `pid ${read.record.pid} is now another program`
  return { running: false, cleaned: `removed a stale pid file (${why})` }
}
