// `cco rollback`: swap cco.backup and the installed binary through the same journaled commit
// as an update, so rolling back twice returns to where you were.
import { existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import { CliError, ExitCode } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { probeVersion } from '../system/probe-version.ts'
import { fileSha256 } from './binary-files.ts'
import { commitInstall } from './commit.ts'
import type { UpdateContext } from './context.ts'
import { takeUpdateLock } from './install.ts'
import { clearJournal, removeTempDir, startJournal } from './journal.ts'
import { binaryFsOf, type WithBinaryFs } from './platform-fs.ts'
import { createTempDir } from './prepare.ts'

export interface RollbackResult {
  version: string
  previousVersion: string | null
  installPath: string
  backupPath: string | null
}

export async function rollbackToBackup(ctx: UpdateContext & WithBinaryFs): Promise<RollbackResult> {
  const { installPath, backupPath, installJournal } = ctx.paths
  const fs = binaryFsOf(ctx)
  const lock = await takeUpdateLock(ctx)
  try {
    if (!existsSync(backupPath)) throw new CliError(`No backup found at ${backupPath}: nothing to roll back to`, ExitCode.failure, { kind: 'no-backup' })
    const backup = await probeVersion(backupPath, ctx.env)
    if (!backup.ok) throw new CliError(`The backup is not a working cco binary, not rolling back: ${backup.problem}`, ExitCode.failure, { kind: 'no-backup' })
    const current = existsSync(installPath) ? await probeVersion(installPath, ctx.env) : null
    const previousVersion = current?.ok ? current.version : null

    const tempDir = createTempDir(installPath)
    // The install path's own name (`cco.exe` on Windows), like an update's extracted binary.
    const newBinary = join(tempDir, basename(installPath))
    let sha256: string
    try {
      startJournal(installJournal, {
        kind: 'rollback',
        installPath,
        backupPath,
        tempDir,
        expectedVersion: backup.version,
        previousVersion,
        startedAt: toRfc3339(ctx.clock.now()),
      })
      // A copy of the backup is what gets renamed in; the backup itself is then replaced by
      // the binary that was installed (the swap). On Windows cco.backup.exe may be running
      // (a daemon's watchdog): reading it is allowed, and commit.ts never writes into it.
      fs.copyFile(backupPath, newBinary)
      fs.fsyncFile(newBinary)
      sha256 = fileSha256(newBinary)!
    } catch (err) {
      removeTempDir(tempDir, installPath, fs)
      clearJournal(installJournal)
      throw err
    }
    const committed = await commitInstall(
      ctx,
      { tempDir, newBinary, sha256, version: backup.version },
      { kind: 'rollback', previousVersion, lock },
    )
    return { version: backup.version, previousVersion, installPath, backupPath: committed.backupPath }
  } finally {
    lock.release()
  }
}
