// Test hook for fault tests with real processes: `CCO_CRASH_AT=<step>` makes the process
// SIGKILL itself right after that step, as a power loss or OOM kill would. Only in development
// and test builds: a release build (`__CCO_BUILD__` = release, fixed when it is bundled)
// ignores the variable, so nothing in a user's environment can make an update kill itself.
//
// Steps of `cco update` (in order; see update/install.ts and update/commit.ts):
//   lock-acquired       the update lock is held
//   manifest-verified   the manifest passed every rule and the trust state was saved
//   journal-started     the install journal (phase "preparing") and the temp dir exist
//   downloaded          the archive is in the temp dir, size and sha256 checked
//   extracted           the binary is extracted, 0755 and fsynced
//   new-binary-checked  `<new> --version` printed the manifest's version
//   journal-written     the journal (phase "swapping") names the new binary's sha256
//   backup-copied       a copy of the current binary is on disk, not yet renamed to cco.backup
//   backup-written      cco.backup holds the current binary
//   swapped             the new binary was renamed over the install path
//   installed-verified  the installed binary printed the expected version
//   recorded            last_update and updates.log are written, the journal not yet cleared
// `cco rollback` passes the same commit steps (journal-written … recorded).
import { BUILD } from '../build-info.ts'
import type { Env } from './env.ts'

export const CRASH_POINTS = [
  'lock-acquired',
  'manifest-verified',
  'journal-started',
  'downloaded',
  'extracted',
  'new-binary-checked',
  'journal-written',
  'backup-copied',
  'backup-written',
  'swapped',
  'installed-verified',
  'recorded',
] as const
export type CrashPoint = (typeof CRASH_POINTS)[number]

/** Fixed at build time, like the daemon's test health status (daemon/test-build.ts). */
const CRASH_POINTS_ENABLED = BUILD !== 'release'

export function crashPoint(env: Env, step: CrashPoint): void {
  if (CRASH_POINTS_ENABLED && env.CCO_CRASH_AT === step) process.kill(process.pid, 'SIGKILL')
}
