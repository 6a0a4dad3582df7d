// Is a pid alive, and is it still the same process? (lock files and journals name their owner)
import { execFileSync } from 'node:child_process'
import { readFileSync, readlinkSync } from 'node:fs'
import { errnoCode } from '../errors.ts'

export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errnoCode(err) === 'EPERM'
  }
}

/**
 * The kernel's start time of a process (Linux: clock ticks since boot, field 22 of
 * /proc/<pid>/stat), so that a lock left by a dead process is not mistaken for one held by
 * an unrelated process that was later given the same pid. null where /proc is missing.
 */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return rest[19] ?? null
  } catch {
    return null
  }
}

/** True when `pid` runs and, if a start time was recorded, is still that same process. */
export function isSameProcessAlive(pid: number, startTicks: string | null | undefined): boolean {
  if (!isPidAlive(pid)) return false
  if (!startTicks) return true
  const now = processStartTicks(pid)
  return now === null || now === startTicks
}

/** Whether this system has Linux's /proc, where a process can be identified by the kernel. */
export function hasProcFs(): boolean {
  try {
    readFileSync('/proc/self/stat')
    return true
  } catch {
    return false
  }
}

/** The real uid a process runs as (`Uid:` of /proc/<pid>/status), null when unknown. */
export function processUid(pid: number): number | null {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

export type ProcessExe = { kind: 'exe'; path: string } | { kind: 'denied' } | { kind: 'none' }

/**
 * The executable a process runs (/proc/<pid>/exe, without the ` (deleted)` the kernel appends
 * once the file was replaced, as an update does). `denied`: the kernel does not show it to us
 * (another user's process); `none`: no such process, or no /proc.
 */
export function processExe(pid: number): ProcessExe {
  try {
    return { kind: 'exe', path: readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '') }
  } catch (err) {
    const code = errnoCode(err)
    return code === 'EACCES' || code === 'EPERM' ? { kind: 'denied' } : { kind: 'none' }
  }
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

/**
 * Owner and command line of a process from `ps` (macOS and the BSDs, which have no /proc):
 * null when ps is missing or does not know the pid. The arguments are split on spaces, which
 * is enough to recognise a program and its command.
 */
export function psProcess(pid: number): { uid: number; args: string[] } | null {
  try {
    const out = execFileSync('ps', ['-o', 'uid=', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 3_000, stdio: ['ignore', 'pipe', 'ignore'] })
    const m = /^\s*(\d+)\s+(.+)$/m.exec(out)
    return m ? { uid: Number(m[1]), args: m[2]!.trim().split(/\s+/) } : null
  } catch {
    return null
  }
}
