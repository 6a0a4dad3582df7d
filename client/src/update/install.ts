// An update from start to finish (client/README.md, "How an update is verified and installed"):
// lock, check, prepare, commit (then the after-install hook, which restarts a daemon). One
// sequence, updateUnderLock(), for the CLI and the daemon: each looks at the check under the
// lock and says whether to install; the CLI's question comes before, on a check without the lock.
import { existsSync } from 'node:fs'
import { probeVersion } from '../system/probe-version.ts'
import { crashPoint } from '../system/crash-points.ts'
import { fileIdentity, startFileSha256 } from './binary-files.ts'
import { checkForUpdate, type CheckResult } from './check.ts'
import { commitInstall } from './commit.ts'
import type { UpdateContext } from './context.ts'
import type { Decision } from './decide.ts'
import { acquireLock, type LockHandle } from './lock.ts'
import { prepareInstall } from './prepare.ts'
import type { Transfer } from './transfer.ts'
import type { VerifiedManifest } from './verify-manifest.ts'

export const UPDATE_LOCK_WAIT_MS = 10_000

export type InstallDecision = Extract<Decision, { kind: 'install' }>

export interface InstallResult {
  version: string
  previousVersion: string
  installPath: string
  backupPath: string | null
  /** What the install downloaded (fleet reports carry it). */
  transfer: Transfer
}

/** Step 1: one updater per host. Waits up to ~10 s for another one, then refuses (exit 1). */
export async function takeUpdateLock(ctx: UpdateContext): Promise<LockHandle> {
  const lock = await acquireLock(ctx.paths.updateLock, { waitMs: UPDATE_LOCK_WAIT_MS, what: 'update' })
  crashPoint(ctx.env, 'lock-acquired')
  return lock
}

export interface UnderLockOptions {
  /**
   * Which file was at the install path before a question to the user (fileIdentity). If
   * another one is there once the lock is held, another updater came and went while the
   * question was open: compare against the installed binary even though the lock was free.
   */
  installedBefore?: string | null
  /** The manifest verified by the check before the lock (CheckOptions.verified). */
  verified?: VerifiedManifest
}

/**
 * Step 2 under the lock. When the lock had to be waited for, another updater just finished:
 * what counts as "current" is then what it installed, not the version this process started
 * as, so that two updaters started together do not both install.
 */
async function checkUnderLock(ctx: UpdateContext, lock: LockHandle, options: UnderLockOptions): Promise<CheckResult> {
  let current: string | undefined
  const replaced = options.installedBefore !== undefined && fileIdentity(ctx.paths.installPath) !== options.installedBefore
  if ((lock.waitedMs > 0 || replaced) && existsSync(ctx.paths.installPath)) {
    const probe = await probeVersion(ctx.paths.installPath, ctx.env)
    if (probe.ok) current = probe.version
  }
  return checkForUpdate(ctx, { current, verified: options.verified })
}

/**
 * Steps 3–8 for a decision to install, under the caller's update lock; the lock is released
 * once the install is settled, before the after-install hook (see CommitOptions.lock).
 */
async function installUpdate(ctx: UpdateContext, check: CheckResult, decision: InstallDecision, lock: LockHandle): Promise<InstallResult> {
  // The installed binary is hashed (for the journal) on a worker while the new one downloads.
  const previousSha256 = startFileSha256(ctx.paths.installPath)
  const prepared = await prepareInstall(ctx, { version: decision.version, asset: decision.asset })
  ctx.hooks.beforeSwap?.({ version: decision.version, installPath: ctx.paths.installPath })
  const committed = await commitInstall(ctx, prepared, { kind: 'update', previousVersion: check.current, lock, previousSha256 })
  return { version: decision.version, previousVersion: check.current, installPath: ctx.paths.installPath, backupPath: committed.backupPath, transfer: prepared.transfer }
}

/** What the caller makes of the check under the lock: install this decision, or stop with a value. */
export type UnderLockStep<T> = { install: InstallDecision } | { stop: T }

export type UpdateRun<T> =
  | { kind: 'stopped'; check: CheckResult; value: T }
  | { kind: 'installed'; check: CheckResult; result: InstallResult }

/**
 * The update sequence: take the update lock, check under it, hand the result to `next`, and
 * install what it returns. The lock is held from the check to the end of the install (released
 * before the after-install hook, see CommitOptions.lock), whatever `next` does or throws.
 */
export async function updateUnderLock<T>(
  ctx: UpdateContext,
  next: (check: CheckResult) => UnderLockStep<T> | Promise<UnderLockStep<T>>,
  options: UnderLockOptions = {},
): Promise<UpdateRun<T>> {
  const lock = await takeUpdateLock(ctx)
  try {
    const check = await checkUnderLock(ctx, lock, options)
    const step = await next(check)
    if ('stop' in step) return { kind: 'stopped', check, value: step.stop }
    return { kind: 'installed', check, result: await installUpdate(ctx, check, step.install, lock) }
  } finally {
    lock.release()
  }
}
