// Appends check and install events to `updates.log` in the state dir, for administrators.
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Clock } from './clock.ts'
import { formatLogLine, type LogLevel } from './logger.ts'

/** Best effort: a full disk must not turn a completed update into a failure. */
export function appendUpdateLog(file: string, clock: Clock, level: LogLevel, message: string): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true })
    appendFileSync(file, `${formatLogLine(level, message, clock.now())}\n`, { mode: 0o644 })
    return true
  } catch {
    return false
  }
}
