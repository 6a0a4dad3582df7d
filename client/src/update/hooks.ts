// Points where other parts of cco join an install. update/ knows none of them: the caller passes
// its hooks in. After a manual `cco update` or `cco rollback` the command's hooks restart a
// running daemon (daemon/restart-request.ts); the daemon passes its own (it restarts itself,
// and logs each step).
import type { Transfer } from './transfer.ts'

export interface InstallEvent {
  kind: 'update' | 'rollback'
  version: string
  installPath: string
  /** An update: what it downloaded (its fleet report carries it). */
  transfer?: Transfer
}

export interface UpdateHooks {
  /** After a verified install or rollback; failures are reported, not fatal. */
  afterInstall(event: InstallEvent): Promise<void>
  /** The new binary is downloaded, verified and runs; it is about to replace the installed one. */
  beforeSwap?(event: { version: string; installPath: string }): void
}

/** Nothing else to do: the default, and the daemon's own installs and restores. */
export const noHooks: UpdateHooks = {
  async afterInstall() {},
}
