// An AppContext for in-process tests of the update machinery: real paths under a temp HOME,
// output collected in strings, no terminal.
import { Readable } from 'node:stream'
import { currentPlatform, type AppContext } from '../../client/src/context.ts'
import { systemClock, type Clock } from '../../client/src/system/clock.ts'
import { createConsoleLogger } from '../../client/src/system/logger.ts'
import { resolvePaths } from '../../client/src/system/paths.ts'
import { childEnv } from '../../support/cco-process.ts'

export interface TestApp extends AppContext {
  out: { stdout: string; stderr: string }
}

export function testApp(home: string, o: { env?: Record<string, string>; version?: string; clock?: Clock } = {}): TestApp {
  const env = childEnv(home, o.env)
  const out = { stdout: '', stderr: '' }
  const stderr = { write: (s: string) => (out.stderr += s) }
  return {
    env,
    paths: resolvePaths(env, { sea: false }),
    clock: o.clock ?? systemClock,
    logger: createConsoleLogger(stderr),
    version: o.version ?? '2026.1.1',
    platform: currentPlatform(),
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr,
    stdin: Readable.from([]),
    fancy: false,
    out,
  }
}
