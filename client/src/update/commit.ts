// Install phase 2, "commit": keep the current binary as cco.backup, rename the prepared one
// over the install path (atomic on one filesystem), verify it where it now lives, and put the
// backup back if it does not work. The journal is rewritten before each step that changes
// the install path, so an interruption at any point can be finished or undone (recover.ts).
import { renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { CliError, ExitCode, messageOf, RollbackFailedError, RolledBackError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { crashPoint } from '../system/crash-points.ts'
import { fsyncDir } from '../system/fs-atomic.ts'
import { tildify } from '../system/paths.ts'
import { probeVersion } from '../system/probe-version.ts'
import { copyBinaryAtomic, fileSha256, linkBackupAtomic } from './binary-files.ts'
import type { UpdateContext } from './context.ts'
import { clearJournal, removeTempDir, writeJournal, type Journal } from './journal.ts'
import type { LockHandle } from './lock.ts'
import type { Prepared } from './prepare.ts'
import { probeBinary } from './probe.ts'
import { recordInstall } from './records.ts'
import { traceStep } from './trace.ts'

export const ROLLING_BACK = '⚠️  New binary verification failed, rolling back...'

export interface CommitOptions {
  kind: 'update' | 'rollback'
  previousVersion: string | null
  /**
   * The update lock the caller holds. It is released once the install is settled (journal
   * cleared), before the after-install hook: that hook waits for a running daemon to restart,
   * and the daemon's health-gated restore of cco.backup needs this lock.
   */
  lock: LockHandle
}

export interface Committed {
  /** Where the previous binary was kept, null when there was none. */
  backupPath: string | null
}

/** `cp ~/.local/bin/cco.backup ~/.local/bin/cco`: what a human runs when everything failed. */
export function manualRestoreCommand(ctx: Pick<UpdateContext, 'paths'>): string {
  const { backupPath, installPath, home } = ctx.paths
  return `cp ${tildify(backupPath, home)} ${tildify(installPath, home)}`
}

/** Puts the backup back over the install path and checks that it runs. */
export async function restoreBackup(ctx: Pick<UpdateContext, 'paths' | 'env'>): Promise<void> {
  const { backupPath, installPath } = ctx.paths
  try {
    copyBinaryAtomic(backupPath, installPath)
  } catch (err) {
    throw new RollbackFailedError(`cannot copy ${backupPath} back: ${messageOf(err)}`, manualRestoreCommand(ctx), { cause: err })
  }
  const probe = await probeVersion(installPath, ctx.env)
  if (!probe.ok) throw new RollbackFailedError(`the restored binary does not run (${probe.problem})`, manualRestoreCommand(ctx))
}

export async function commitInstall(ctx: UpdateContext, prepared: Prepared, options: CommitOptions): Promise<Committed> {
  const { installPath, backupPath, installJournal } = ctx.paths
  const previousSha = fileSha256(installPath)
  const journal: Journal = {
    format: 1,
    kind: options.kind,
    phase: 'swapping',
    pid: process.pid,
    started_at: toRfc3339(ctx.clock.now()),
    install_path: installPath,
    backup_path: backupPath,
    temp_dir: prepared.tempDir,
    new_binary: prepared.newBinary,
    expected_version: prepared.version,
    new_sha256: prepared.sha256,
    previous_sha256: previousSha,
    previous_version: options.previousVersion,
  }
  writeJournal(installJournal, journal)
  crashPoint(ctx.env, 'journal-written')
  traceStep(ctx.env, 'hash previous, journal')

  const cleanup = () => {
    clearJournal(installJournal)
    removeTempDir(prepared.tempDir, installPath)
  }
  try {
    if (previousSha !== null) linkBackupAtomic(installPath, backupPath, () => crashPoint(ctx.env, 'backup-copied'))
    crashPoint(ctx.env, 'backup-written')
    traceStep(ctx.env, 'backup')
    renameSync(prepared.newBinary, installPath)
    // The rename is only durable once the directory entry is on disk.
    fsyncDir(dirname(installPath))
  } catch (err) {
    // The rename did not happen (it is the last call that can throw before the fsync), so the
    // previous binary is still in place.
    if (fileSha256(installPath) === previousSha) {
      cleanup()
      throw new CliError(`Failed to install new binary: ${messageOf(err)}`, ExitCode.failure, { cause: err, kind: 'disk' })
    }
    throw err
  }
  crashPoint(ctx.env, 'swapped')
  traceStep(ctx.env, 'rename and fsync dir')
  writeJournal(installJournal, { ...journal, phase: 'verifying' })

  const probe = await probeBinary(installPath, ctx.env, prepared.version)
  const problem =
    probe.kind === 'fails' ? probe.problem : probe.kind === 'other' ? `it reports version ${probe.version}, expected ${prepared.version}` : null
  if (problem) {
    ctx.logger.warn(ROLLING_BACK)
    if (previousSha === null) {
      // Nothing was installed before: take the broken binary away rather than leave it.
      rmSync(installPath, { force: true })
      fsyncDir(dirname(installPath))
      cleanup()
      throw new RolledBackError(`Update failed, rolled back to previous version (none was installed; ${problem})`)
    }
    // On failure the journal stays, so the next cco run tries the restore again.
    await restoreBackup(ctx)
    cleanup()
    throw new RolledBackError(['Update failed, rolled back to previous version', `New binary verification failed: ${problem}`])
  }
  crashPoint(ctx.env, 'installed-verified')
  traceStep(ctx.env, 'version probe (installed)')

  recordInstall(ctx, `${options.kind}: ${options.previousVersion ?? 'none'} -> ${prepared.version} at ${installPath}`)
  crashPoint(ctx.env, 'recorded')
  cleanup()
  traceStep(ctx.env, 'record and cleanup')
  options.lock.release()
  try {
    await ctx.hooks.afterInstall({ kind: options.kind, version: prepared.version, installPath })
  } catch (err) {
    ctx.logger.warn(`warning: after-install step failed: ${messageOf(err)}`)
  }
  return { backupPath: previousSha !== null ? backupPath : null }
}
