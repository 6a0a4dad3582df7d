// What every command gets: the environment, paths, clock, logger and terminal facts. Built
// once in cli.ts from the real process; tests of pure parts pass their own.
import { platformOf, type Platform } from '../../contract/platform.ts'
import type { Clock } from './system/clock.ts'
import { envValue, type Env } from './system/env.ts'
import type { Logger } from './system/logger.ts'
import type { OutStream } from './system/terminal-text.ts'
import type { Paths } from './system/paths.ts'

export type { OutStream }

export interface AppContext {
  env: Env
  paths: Paths
  clock: Clock
  /** Human-facing logs and warnings (stderr). */
  logger: Logger
  /** The running client's version. */
  version: string
  platform: Platform | null
  stdout: OutStream
  stderr: OutStream
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  /** Colours: only on a terminal and never with NO_COLOR (the progress bar's rule is in system/progress.ts). */
  fancy: boolean
}

export function currentPlatform(): Platform | null {
  return platformOf(process.platform, process.arch)
}

export function wantsFancyOutput(env: Env, stderr: OutStream): boolean {
  return stderr.isTTY === true && envValue(env, 'NO_COLOR') === undefined && env.TERM !== 'dumb'
}
