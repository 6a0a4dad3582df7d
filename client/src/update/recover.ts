// Finishes or undoes an install that was interrupted (crash, kill, power loss), early in every
// cco run. Cheap when there is nothing to do: one failed open of the journal.
//
// Recovery rules, applied under the update lock (if a live updater holds it, it is left alone):
//   phase "preparing"            the install path was never touched: remove the temp dir.
//   phase "swapping"/"verifying", by the sha256 of what is at the install path now:
//     = new_sha256               the rename happened. If it answers `--version` with the
//                                expected version, the install is complete: record it.
//                                Otherwise restore cco.backup (when it is the previous binary).
//     = previous_sha256          the rename did not happen: remove the temp dir; done. A
//                                rollback may already have replaced cco.backup with the
//                                installed binary: then the temp binary (the only copy of
//                                the version rolled back to) becomes cco.backup again first.
//     missing, previous existed  restore cco.backup if it is the previous binary.
//     missing, none before       a first install that did not finish: nothing to restore.
//     anything else              someone replaced the binary since: leave it alone.
//   In every case the temp dir, staged copies and the journal are removed afterwards, except
//   when a restore fails: then the journal stays for the next run and the manual command is
//   printed.
// A journal for another install path is left alone: it belongs to the cco installed there
// (a single executable takes its own path as the install path, so `cco.backup daemon
// watchdog` sees the real install's journal) and that one recovers it. Except when that
// install path is missing and this is its backup (Windows, killed between the two renames):
// then nothing else can run, and this one restores it.
// A corrupt journal is removed with a warning: the rename is atomic, so the install path
// holds a complete binary either way (on Windows, a missing one is first copied back from
// the backup).
// Windows (BinaryFs.platform): the install path goes missing for a moment in every install (the
// running cco.exe is renamed to cco.backup.exe before the new one takes its name), so "missing"
// is an ordinary interruption there; an interrupted rollback then also gets its target back as
// cco.backup.exe after the restore. Every start also removes binaries that an earlier install
// renamed away while they were running (.cco-update-trash-*), once they no longer run.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { messageOf } from '../errors.ts'
import type { Clock } from '../system/clock.ts'
import type { Env } from '../system/env.ts'
import type { Logger } from '../system/logger.ts'
import type { Paths } from '../system/paths.ts'
import { appendUpdateLog } from '../system/update-log.ts'
import { copyBinaryAtomic, fileSha256, replaceName } from './binary-files.ts'
import { manualRestoreCommand, restoreBackup } from './commit.ts'
import { clearJournal, isUpdateTemp, readJournal, removeTempDir, sweepTrash, sweepUpdateTemps, type Journal } from './journal.ts'
import { tryAcquireLock } from './lock.ts'
import { binaryFsOf, type BinaryFs, type WithBinaryFs } from './platform-fs.ts'
import { probeBinary } from './probe.ts'
import { recordInstall } from './records.ts'

export interface RecoveryContext extends WithBinaryFs {
  env: Env
  paths: Paths
  clock: Clock
  logger: Logger
}

export type RecoveryOutcome =
  | { kind: 'nothing' }
  | { kind: 'busy' }
  | { kind: 'cleaned'; detail: string }
  | { kind: 'completed'; version: string }
  | { kind: 'restored'; detail: string }
  | { kind: 'failed'; detail: string }
  | { kind: 'not-ours'; detail: string }

export async function recoverInterruptedInstall(ctx: RecoveryContext): Promise<RecoveryOutcome> {
  const fs = binaryFsOf(ctx)
  if (fs.platform === 'win32') sweepTrash(ctx.paths.installPath, fs)
  const first = readJournal(ctx.paths.installJournal)
  if (first.kind === 'none') return { kind: 'nothing' }
  const lock = tryAcquireLock(ctx.paths.updateLock)
  if (!('release' in lock)) return { kind: 'busy' }
  try {
    // Read again under the lock: the updater may have finished in between.
    const read = readJournal(ctx.paths.installJournal)
    if (read.kind === 'none') return { kind: 'nothing' }
    if (read.kind === 'corrupt') {
      // Windows: the install path may be between its two renames; the backup is the binary.
      const fs = binaryFsOf(ctx)
      if (fs.platform === 'win32' && !existsSync(ctx.paths.installPath) && existsSync(ctx.paths.backupPath)) {
        copyBinaryAtomic(ctx.paths.backupPath, ctx.paths.installPath, undefined, fs)
      }
      clearJournal(ctx.paths.installJournal)
      ctx.logger.warn(`warning: removed an unreadable install journal (${read.reason})`)
      return { kind: 'cleaned', detail: 'unreadable journal removed' }
    }
    const outcome = await apply(ctx, read.journal)
    const log = (level: 'info' | 'warn' | 'error', msg: string) => appendUpdateLog(ctx.paths.updatesLog, ctx.clock, level, msg)
    switch (outcome.kind) {
      case 'completed':
        ctx.logger.warn(`ℹ️  Completed an interrupted ${read.journal.kind}: ${outcome.version} is installed`)
        break
      case 'restored':
        log('warn', `recovery: ${outcome.detail}`)
        ctx.logger.warn(`⚠️  An interrupted ${read.journal.kind} was rolled back: ${outcome.detail}`)
        break
      case 'cleaned':
        log('info', `recovery: ${outcome.detail}`)
        break
      case 'failed':
        log('error', `recovery: ${outcome.detail}`)
        ctx.logger.error(`⚠️  ${outcome.detail}`)
        break
    }
    return outcome
  } finally {
    lock.release()
  }
}

async function apply(ctx: RecoveryContext, j: Journal): Promise<RecoveryOutcome> {
  const fs = binaryFsOf(ctx)
  // The journal names its own paths; act only if they are this installation's.
  if (j.install_path !== ctx.paths.installPath || j.backup_path !== ctx.paths.backupPath) {
    // Windows: killed between its two renames, the install path is missing and the one binary
    // left to run is cco.backup.exe, which as a single executable takes its own path as the
    // install path. It is the journal's backup: it puts the install path back.
    if (j.backup_path === ctx.paths.installPath && !existsSync(j.install_path) && existsSync(j.backup_path)) {
      return apply({ ...ctx, paths: { ...ctx.paths, installPath: j.install_path, backupPath: j.backup_path } }, j)
    }
    return { kind: 'not-ours', detail: `journal for another install path (${j.install_path}) left for it` }
  }
  const done = (outcome: RecoveryOutcome): RecoveryOutcome => {
    removeTempDir(j.temp_dir, j.install_path, fs)
    // A process killed while copying a binary leaves its staged copy beside the install path.
    sweepUpdateTemps(j.install_path, fs)
    clearJournal(ctx.paths.installJournal)
    return outcome
  }
  if (j.phase === 'preparing') return done({ kind: 'cleaned', detail: `interrupted ${j.kind} to ${j.expected_version ?? '?'} cleaned up before any change` })

  const now = fileSha256(j.install_path)
  const backupIsPrevious = j.previous_sha256 !== null && fileSha256(j.backup_path) === j.previous_sha256
  const restore = async (why: string, keepTarget = false): Promise<RecoveryOutcome> => {
    if (!backupIsPrevious) {
      return { kind: 'failed', detail: `${why}, and ${j.backup_path} is not the previous binary; restore by hand: ${manualRestoreCommand(ctx)}` }
    }
    try {
      await restoreBackup(ctx)
    } catch (err) {
      return { kind: 'failed', detail: messageOf(err) }
    }
    // Windows: a rollback interrupted between its two renames has the version it was going
    // back to only in its temp copy; once the previous binary is back, that copy is cco.backup.exe.
    if (keepTarget && j.kind === 'rollback') keepRollbackTarget(j, fs)
    return done({ kind: 'restored', detail: `${why}; ${j.previous_version ?? 'the previous version'} is back` })
  }

  if (now !== null && now === j.new_sha256) {
    if ((await probeBinary(j.install_path, ctx.env, j.expected_version)).kind === 'reports') {
      recordInstall(
        { configPath: ctx.paths.configFile, updatesLog: ctx.paths.updatesLog, clock: ctx.clock, logger: ctx.logger },
        `${j.kind}: ${j.previous_version ?? 'none'} -> ${j.expected_version} at ${j.install_path} (completed after an interruption)`,
      )
      return done({ kind: 'completed', version: j.expected_version ?? '?' })
    }
    return restore(`the new binary does not run`)
  }
  if (now !== null && now === j.previous_sha256) {
    if (j.kind === 'rollback' && !keepRollbackTarget(j, fs)) {
      return { kind: 'failed', detail: `an interrupted rollback left ${j.backup_path} without ${j.expected_version ?? 'the version rolled back to'}, and its copy in ${j.temp_dir} is gone` }
    }
    return done({ kind: 'cleaned', detail: `interrupted ${j.kind} to ${j.expected_version ?? '?'} undone (the previous binary was never replaced)` })
  }
  if (now === null) {
    if (j.previous_sha256 === null) return done({ kind: 'cleaned', detail: 'interrupted first install cleaned up' })
    if (existsSync(j.backup_path)) return restore(`${j.install_path} is missing`, true)
    return { kind: 'failed', detail: `${j.install_path} is missing and there is no backup to restore` }
  }
  return done({ kind: 'cleaned', detail: `${j.install_path} was replaced by something else since; left as it is` })
}

/**
 * A rollback writes cco.backup (the installed binary) before it renames its temp copy of the
 * old backup over the install path. Interrupted in between, that temp copy is the only one of
 * the version being rolled back to: move it back to cco.backup, so that undoing the rollback
 * loses nothing. False when it is needed but cannot be found.
 */
function keepRollbackTarget(j: Journal, fs: BinaryFs): boolean {
  if (j.new_sha256 === null || fileSha256(j.backup_path) === j.new_sha256) return true
  const copy = j.new_binary
  if (copy === null || !isUpdateTemp(j.temp_dir, j.install_path) || dirname(resolve(copy)) !== resolve(j.temp_dir)) return false
  if (fileSha256(copy) !== j.new_sha256) return false
  // Same directory as cco.backup: the rename is atomic (on Windows cco.backup.exe, which may be
  // running, is renamed away first).
  replaceName(copy, j.backup_path, fs)
  fs.fsyncDir(dirname(j.backup_path))
  return true
}
