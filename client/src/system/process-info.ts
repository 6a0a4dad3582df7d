// Is a pid alive, and is it still the same process? (lock files and journals name their owner)
import { readFileSync } from 'node:fs'
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
