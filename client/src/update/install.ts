// An update from start to finish (client/README.md, "How an update is verified and installed"): lock, check, prepare, commit. The CLI
// and the daemon call these functions; the CLI adds the question in between.
import { existsSync } from 'node:fs'
import { probeVersion } from '../system/probe-version.ts'
import { crashPoint } from '../system/crash-points.ts'
import { checkForUpdate, type CheckResult } from './check.ts'
import { commitInstall } from './commit.ts'
import type { UpdateContext } from './context.ts'
import type { Decision } from './decide.ts'
import { acquireLock, type LockHandle } from './lock.ts'
import { prepareInstall } from './prepare.ts'
import type { VerifiedManifest } from './verify-manifest.ts'

export const UPDATE_LOCK_WAIT_MS = 10_000

export interface InstallResult {
  version: string
  previousVersion: string
  installPath: string
  backupPath: string | null
}

/** Step 1: one updater per host. Waits up to ~10 s for another one, then refuses (exit 1). */
export async function takeUpdateLock(ctx: UpdateContext): Promise<LockHandle> {
  const lock = await acquireLock(ctx.paths.updateLock, { waitMs: UPDATE_LOCK_WAIT_MS, what: 'update' })
  crashPoint(ctx.env, 'lock-acquired')
  return lock
}

export interface UnderLockOptions {
  /**
   * Compare against the installed binary even when the lock was free: after a question to
   * the user, another updater may have come and gone while it was open (the install path
   * holds another file than before the question).
   */
  installedIsCurrent?: boolean
  /** The manifest verified by the check before the lock (CheckOptions.verified). */
  verified?: VerifiedManifest
}

/**
 * Step 2 under the lock. When the lock had to be waited for, another updater just finished:
 * what counts as "current" is then what it installed, not the version this process started
 * as, so that two updaters started together do not both install.
 */
export async function checkUnderLock(ctx: UpdateContext, lock: LockHandle, options: UnderLockOptions = {}): Promise<CheckResult> {
  let current: string | undefined
  if ((lock.waitedMs > 0 || options.installedIsCurrent) && existsSync(ctx.paths.installPath)) {
    const probe = await probeVersion(ctx.paths.installPath, ctx.env)
    if (probe.ok) current = probe.version
  }
  return checkForUpdate(ctx, { current, verified: options.verified })
}

/**
 * Steps 3–8 for a decision to install, under the caller's update lock; the lock is released
 * once the install is settled, before the after-install hook (see CommitOptions.lock).
 */
export async function installUpdate(
  ctx: UpdateContext,
  check: CheckResult,
  decision: Extract<Decision, { kind: 'install' }>,
  lock: LockHandle,
): Promise<InstallResult> {
  const prepared = await prepareInstall(ctx, { version: decision.version, asset: decision.asset })
  ctx.hooks.beforeSwap?.({ version: decision.version, installPath: ctx.paths.installPath })
  const committed = await commitInstall(ctx, prepared, { kind: 'update', previousVersion: check.current, lock })
  return { version: decision.version, previousVersion: check.current, installPath: ctx.paths.installPath, backupPath: committed.backupPath }
}
