// The daemon's pid file (`daemon.pid` in the state dir): who is serving, on which port, since
// when, from which binary, and the daemon's proof key. Written atomically (mode 0600) by the
// service itself once it listens, so that a pid file always names a process that got as far as
// accepting connections; read without following symlinks. What it says is checked against the
// kernel (system/daemon-identity.ts) before anyone believes or signals the pid.
import { rmSync } from 'node:fs'
import * as z from 'zod'
import { confirmDaemon, kernelVerdict, type Confirmation } from './daemon-identity.ts'
import { writeFileAtomic } from './fs-atomic.ts'
import { readStateFile } from './state-file.ts'

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
  /** The daemon's secret for /health proofs (daemon-identity.ts); absent in older pid files. */
  nonce: z.string().nullable().default(null),
})
export type PidRecord = z.infer<typeof PidRecordSchema>

export type PidFileRead = { kind: 'none' } | { kind: 'corrupt'; reason: string } | { kind: 'record'; record: PidRecord }

export function readPidFile(path: string): PidFileRead {
  const read = readStateFile(path, PidRecordSchema, { noFollow: true })
  if (read.kind === 'missing') return { kind: 'none' }
  if (read.kind === 'ok') return { kind: 'record', record: read.value }
  return { kind: 'corrupt', reason: read.reason }
}

/** Mode 0600: the nonce in it is what the daemon proves itself with. */
export function writePidFile(path: string, record: PidRecord): void {
  writeFileAtomic(path, `${JSON.stringify(record)}\n`, { mode: 0o600 })
}

/** Removes the pid file only while it still names `pid` (a successor may have written its own). */
export function removePidFileIfOwned(path: string, pid: number): boolean {
  const read = readPidFile(path)
  if (read.kind === 'record' && read.record.pid !== pid) return false
  rmSync(path, { force: true })
  return true
}

export function removePidFile(path: string): void {
  // A symlink is removed itself, never its target.
  rmSync(path, { force: true })
}

export type RunningDaemon =
  | { running: true; record: PidRecord; unsure?: undefined }
  | { running: false; cleaned: string | null; unsure?: undefined }
  /** The pid file names a live process that may be a cco daemon but is not provably ours: left alone. */
  | { running: false; cleaned: null; unsure: { pid: number; why: string } }

/**
 * The daemon the pid file names, if it runs, by the kernel's word (where /proc is missing a
 * live pid counts as running here; anything that signals it uses findConfirmedDaemon). A stale
 * file (dead pid, reused pid, another program, unreadable, a symlink) is removed, and `cleaned`
 * says why; a live process that is not provably ours (another user's) is `unsure` and left.
 */
export function findRunningDaemon(path: string): RunningDaemon {
  const read = readPidFile(path)
  if (read.kind === 'none') return { running: false, cleaned: null }
  if (read.kind === 'corrupt') {
    removePidFile(path)
    return { running: false, cleaned: `removed an unreadable pid file (${read.reason})` }
  }
  const k = kernelVerdict(read.record.pid, read.record.start_ticks)
  if (k.kind === 'ours' || k.kind === 'unverified') return { running: true, record: read.record }
  if (k.kind === 'unsure') return { running: false, cleaned: null, unsure: { pid: read.record.pid, why: k.why } }
  cleanStale(path, read.record)
  return { running: false, cleaned: `removed a stale pid file (${k.why})` }
}

/** Removes the pid file only if it still says the same thing (a daemon may be starting right now). */
function cleanStale(path: string, record: PidRecord): void {
  const again = readPidFile(path)
  if (again.kind === 'record' && again.record.pid === record.pid) removePidFile(path)
}

/**
 * findRunningDaemon() for callers that signal the daemon or report it as running: where the
 * kernel cannot tell (no /proc), the daemon must prove itself on /health, or it is `unsure`.
 */
export async function findConfirmedDaemon(path: string): Promise<RunningDaemon> {
  const found = findRunningDaemon(path)
  if (!found.running) return found
  const c: Confirmation = await confirmDaemon(found.record)
  if (c.ok) return found
  if (c.stale) {
    cleanStale(path, found.record)
    return { running: false, cleaned: `removed a stale pid file (${c.why})` }
  }
  return { running: false, cleaned: null, unsure: { pid: found.record.pid, why: c.why } }
}
