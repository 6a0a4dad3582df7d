// Step timings of an update, for `npm run bench` (scripts/bench/update.ts): with CCO_TRACE_FILE
// set, each step appends one log line `trace <step> <ms>` (the time since the previous step; the
// first one counts from the process start, so it is the start-up cost). Unset, every call is a
// check of one variable: nothing is timed or written.
import { appendFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { systemClock } from '../system/clock.ts'
import { envValue, type Env } from '../system/env.ts'
import { createTimestampLogger, type Logger } from '../system/logger.ts'

export const TRACE_FILE_ENV = 'CCO_TRACE_FILE'

let logger: Logger | null = null
let last = 0

/** Ends the step that ran since the previous mark (the process start for the first one). */
export function traceStep(env: Env, step: string): void {
  const file = envValue(env, TRACE_FILE_ENV)
  if (file === undefined) return
  if (!logger) {
    // Through the one log-line writer, so a step name is escaped like any log message.
    logger = createTimestampLogger({ write: (text) => appendFileSync(file, text, { mode: 0o600 }) }, systemClock, 'debug')
    // What runs after the last step (the after-install hook, the output, the exit) counts too.
    process.once('exit', () => traceStep(env, 'after install and exit'))
  }
  const now = performance.now()
  logger.debug(`trace ${step} ${(now - last).toFixed(2)}`)
  last = now
}

/** Parses the lines traceStep wrote: step name and milliseconds, in order. */
export function parseTrace(text: string): { step: string; ms: number }[] {
  const out: { step: string; ms: number }[] = []
  for (const line of text.split('\n')) {
    const m = /\[DEBUG\] trace (.+) (\d+(?:\.\d+)?)$/.exec(line)
    if (m) out.push({ step: m[1]!, ms: Number(m[2]) })
  }
  return out
}
