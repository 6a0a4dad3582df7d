// Points where other parts of cco join an install. After a manual `cco update` or
// `cco rollback`, a running daemon is restarted into the binary now at the install path;
// the daemon itself passes its own hooks (it restarts itself, and logs each step).
import type { AppContext } from '../context.ts'
import { restartRunningDaemon } from '../daemon/restart-request.ts'

export interface InstallEvent {
  kind: 'update' | 'rollback'
  version: string
  installPath: string
}

export interface UpdateHooks {
  /** After a verified install or rollback; failures are reported, not fatal. */
  afterInstall(event: InstallEvent): Promise<void>
  /** The new binary is downloaded, verified and runs; it is about to replace the installed one. */
  beforeSwap?(event: { version: string; installPath: string }): void
}

/** Nothing else to do: for the daemon's own installs and restores. */
export const noHooks: UpdateHooks = {
  async afterInstall() {},
}

/** The default for commands: a running daemon follows the binary that was just installed. */
export function restartDaemonHooks(app: Pick<AppContext, 'paths' | 'logger' | 'env'>): UpdateHooks {
  return {
    async afterInstall(event) {
      await restartRunningDaemon(app, event.version)
    },
  }
}
