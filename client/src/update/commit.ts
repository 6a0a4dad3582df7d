// Install phase 2, "commit": keep the current binary as cco.backup, rename the prepared one
// over the install path (atomic on one filesystem), verify it where it now lives, and put the
// backup back if it does not work. The journal is rewritten before each step that changes
// the install path, so an interruption at any point can be finished or undone (recover.ts).
//
// Windows variant (same journal, same steps, chosen by BinaryFs.platform): the running cco.exe
// cannot be renamed over, so it is renamed away to cco.backup.exe first and the new binary then
// takes the free name (binary-files.ts moveInstalledToBackup). On macOS the new binary's
// quarantine attribute, if any, is dropped before the journal; nothing writes into a binary
// after it was verified, so its embedded signature stays valid (renames and new-file copies only).
import { dirname } from 'node:path'
import { CliError, ExitCode, messageOf, RollbackFailedError, RolledBackError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { crashPoint } from '../system/crash-points.ts'
import { tildify } from '../system/paths.ts'
import { probeVersion } from '../system/probe-version.ts'
import { copyBinaryAtomic, fileSha256, linkBackupAtomic, moveInstalledToBackup, replaceName, settledSha256, type PendingSha256 } from './binary-files.ts'
import type { UpdateContext } from './context.ts'
import { clearJournal, removeTempDir, writeJournal, type Journal } from './journal.ts'
import type { LockHandle } from './lock.ts'
import { binaryFsOf, type WithBinaryFs } from './platform-fs.ts'
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
  /** The installed binary's sha256, started while the new one was prepared (startFileSha256). */
  previousSha256?: PendingSha256
}

export interface Committed {
  /** Where the previous binary was kept, null when there was none. */
  backupPath: string | null
}

/**
 * What a human runs when everything failed: `cp ~/.local/bin/cco.backup ~/.local/bin/cco`; on
 * Windows the PowerShell command (its default shell), both paths in single quotes.
 */
export function manualRestoreCommand(ctx: Pick<UpdateContext, 'paths'> & WithBinaryFs & { env?: UpdateContext['env'] }): string {
  const { backupPath, installPath, home } = ctx.paths
  if (binaryFsOf(ctx).platform === 'win32') return `Copy-Item -Force '${backupPath.replaceAll("'", "''")}' '${installPath.replaceAll("'", "''")}'`
  return `cp ${tildify(backupPath, home)} ${tildify(installPath, home)}`
}

/** Puts the backup back over the install path and checks that it runs. */
export async function restoreBackup(ctx: Pick<UpdateContext, 'paths' | 'env'> & WithBinaryFs): Promise<void> {
  const { backupPath, installPath } = ctx.paths
  try {
    // A copy, not a rename: cco.backup stays, and on Windows it may be the running process.
    copyBinaryAtomic(backupPath, installPath, undefined, binaryFsOf(ctx))
  } catch (err) {
    throw new RollbackFailedError(`cannot copy ${backupPath} back: ${messageOf(err)}`, manualRestoreCommand(ctx), { cause: err })
  }
  const probe = await probeVersion(installPath, ctx.env)
  if (!probe.ok) throw new RollbackFailedError(`the restored binary does not run (${probe.problem})`, manualRestoreCommand(ctx))
}

export async function commitInstall(ctx: UpdateContext & WithBinaryFs, prepared: Omit<Prepared, 'transfer'> & Partial<Pick<Prepared, 'transfer'>>, options: CommitOptions): Promise<Committed> {
  const { installPath, backupPath, installJournal } = ctx.paths
  const fs = binaryFsOf(ctx)
  // An attribute, not the bytes: the signature is unaffected (platform-fs.ts).
  fs.clearQuarantine(prepared.newBinary)
  const previousSha = await settledSha256(installPath, options.previousSha256)
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

  // The temp dir before the journal: interrupted in between, the journal still says what the
  // install path should hold, and recovery decides by its sha256 alone.
  const cleanup = () => {
    removeTempDir(prepared.tempDir, installPath, fs)
    clearJournal(installJournal)
  }
  try {
    if (previousSha !== null) {
      const onStep = () => crashPoint(ctx.env, 'backup-copied')
      if (fs.platform === 'win32') moveInstalledToBackup(installPath, backupPath, onStep, fs)
      else linkBackupAtomic(installPath, backupPath, onStep, fs)
    }
    crashPoint(ctx.env, 'backup-written')
    traceStep(ctx.env, 'backup')
    // On Windows the install path is free now (or holds nothing that runs: a first install).
    replaceName(prepared.newBinary, installPath, fs)
    // The rename is only durable once the directory entry is on disk.
    fs.fsyncDir(dirname(installPath))
  } catch (err) {
    // The rename did not happen (it is the last call that can throw before the fsync), so the
    // previous binary is still in place. On Windows it may already be cco.backup.exe: put it
    // back, so that the install path keeps a working binary.
    if (fs.platform === 'win32' && previousSha !== null && fileSha256(installPath) === null && fileSha256(backupPath) === previousSha) {
      try {
        copyBinaryAtomic(backupPath, installPath, undefined, fs)
      } catch {
        // The journal stays; the next cco run restores it (recover.ts).
        throw new CliError(`Failed to install new binary: ${messageOf(err)}`, ExitCode.failure, { cause: err, kind: 'disk' })
      }
    }
    if (fileSha256(installPath) === previousSha) {
      // A rollback has already made cco.backup the installed binary: its temp copy is the only
      // one of the version it was going back to, so that becomes cco.backup again.
      if (options.kind === 'rollback' && fileSha256(backupPath) !== prepared.sha256 && fileSha256(prepared.newBinary) === prepared.sha256) {
        replaceName(prepared.newBinary, backupPath, fs)
        fs.fsyncDir(dirname(backupPath))
      }
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
      fs.remove(installPath)
      fs.fsyncDir(dirname(installPath))
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
    await ctx.hooks.afterInstall({ kind: options.kind, version: prepared.version, installPath, ...(prepared.transfer ? { transfer: prepared.transfer } : {}) })
  } catch (err) {
    ctx.logger.warn(`warning: after-install step failed: ${messageOf(err)}`)
  }
  return { backupPath: previousSha !== null ? backupPath : null }
}
