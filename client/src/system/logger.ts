// Leveled logging for humans (stderr) and for log files (`[YYYY-MM-DD HH:MM:SS UTC] [LEVEL] msg`).
import { printLines, safeText } from './terminal-text.ts'
import { formatUtc, type Clock } from './clock.ts'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export interface LineSink {
  write(text: string): unknown
}

/**
 * One log-file line; the daemon and `updates.log` share this format. The message is escaped
 * (system/terminal-text.ts): a newline or an escape sequence in it cannot forge another line.
 */
export function formatLogLine(level: LogLevel, message: string, at: Date): string {
  return `[${formatUtc(at)}] [${level.toUpperCase()}] ${safeText(message)}`
}

function enabled(level: LogLevel, min: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(min)
}

/** Plain messages on stderr (the CLI); `debug` only when asked for. */
export function createConsoleLogger(sink: LineSink, min: LogLevel = 'info'): Logger {
  const log = (level: LogLevel) => (message: string) => {
    if (enabled(level, min)) printLines(sink, [message])
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

/** Timestamped lines, for files and the foreground daemon. */
export function createTimestampLogger(sink: LineSink, clock: Clock, min: LogLevel = 'info'): Logger {
  const log = (level: LogLevel) => (message: string) => {
    if (enabled(level, min)) sink.write(`${formatLogLine(level, message, clock.now())}\n`)
  }
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
