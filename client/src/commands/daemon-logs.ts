// `cco daemon logs [-n N] [-f|--follow]`: the last N lines of daemon.log, then (with --follow)
// new lines as they come, across rotation, until interrupted.
import type { AppContext } from '../context.ts'
import { followFile, lastLines } from '../system/log-tail.ts'

export interface DaemonLogsOptions {
  lines: number
  follow: boolean
  /** Ends --follow (Ctrl-C). */
  signal?: AbortSignal
  pollMs?: number
}

export interface DaemonLogsResult {
  file: string
  exists: boolean
  lines: string[]
}

/** Prints as it goes (`write`), so that --follow streams; returns what the first read found. */
export async function daemonLogsCommand(app: AppContext, o: DaemonLogsOptions, write: (text: string) => void): Promise<DaemonLogsResult> {
  const file = app.paths.daemonLog
  const tail = lastLines(file, o.lines)
  if (!o.follow) return { file, exists: tail !== null, lines: tail?.lines ?? [] }
  if (tail === null) app.logger.warn(`${file} does not exist yet; waiting for it`)
  for (const line of tail?.lines ?? []) write(`${line}\n`)
  if (o.signal) await followFile(file, tail ?? { size: 0, ino: 0 }, write, { signal: o.signal, pollMs: o.pollMs })
  return { file, exists: tail !== null, lines: tail?.lines ?? [] }
}
