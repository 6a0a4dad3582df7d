// Points where other parts of cco join an install: the daemon (a later addition) restarts
// itself into the new binary after a successful install.

export interface InstallEvent {
  kind: 'update' | 'rollback'
  version: string
  installPath: string
}

export interface UpdateHooks {
  /** After a verified install or rollback; failures are reported, not fatal. */
  afterInstall(event: InstallEvent): Promise<void>
}

/** Nothing to restart yet. */
export const noHooks: UpdateHooks = {
  async afterInstall() {},
}
