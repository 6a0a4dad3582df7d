// Appends check and install events to `updates.log` in the state dir, for administrators.
// Opened without following symlinks (state-file.ts): a link planted there gets nothing.
import { closeSync, mkdirSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Clock } from './clock.ts'
import { formatLogLine, type LogLevel } from './logger.ts'
import { DIR_MODE } from './fs-atomic.ts'
import { openForAppend } from './state-file.ts'

/** Best effort: a full disk (or a refused file) must not turn a completed update into a failure. */
export function appendUpdateLog(file: string, clock: Clock, level: LogLevel, message: string): boolean {
  let fd: number | undefined
  try {
    mkdirSync(dirname(file), { recursive: true, mode: DIR_MODE })
    fd = openForAppend(file, { mode: 0o644 })
    writeSync(fd, `${formatLogLine(level, message, clock.now())}\n`)
    return true
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
