// File operations on binaries: hashing, durable copies for the backup and the restore.
import { createHash } from 'node:crypto'
import { chmodSync, constants, copyFileSync, linkSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { CliError, errnoCode, ExitCode, messageOf } from '../errors.ts'
import { fsyncDir, fsyncFile } from '../system/fs-atomic.ts'
import { TEMP_DIR_PREFIX } from './journal.ts'

/**
 * `Failed to install new binary: cannot write …` (exit 1): a write into the install directory
 * failed (disk full, quota, file size limit). Not the archive's fault and not the network's.
 */
export function installWriteError(path: string, err: unknown): CliError {
  return new CliError(`Failed to install new binary: cannot write ${path}: ${messageOf(err)}`, ExitCode.failure, { cause: err, kind: 'disk' })
}

/** sha256 of a file, or null when it does not exist. */
export function fileSha256(path: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
}

/**
 * Which file is at `path` (device, inode, size, mtime), null when none: an install renames a
 * new file into place, so this changes with every install, without reading the binary.
 */
export function fileIdentity(path: string): string | null {
  const st = statSync(path, { throwIfNoEntry: false })
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}` : null
}

/**
 * Replaces `dest` with a durable copy of `src` (mode 0755): copy beside it, fsync, rename,
 * fsync the directory. A copy, not a hard link, so that a later `cp x cco` over one file
 * (which writes into the existing inode) can never change the other. The copy is staged under
 * the update temp prefix: a process killed mid-copy leaves a full-size file that the next
 * recovery or update sweeps (journal.ts), instead of one nobody removes. `onCopied` runs
 * between the copy and the rename (the crash point of the fault tests).
 */
export function copyBinaryAtomic(src: string, dest: string, onCopied?: () => void): void {
  const tmp = join(dirname(dest), `${TEMP_DIR_PREFIX}${basename(dest)}-${process.pid}`)
  rmSync(tmp, { force: true })
  try {
    // FICLONE makes this a cheap reflink on filesystems that support it, a copy elsewhere.
    copyFileSync(src, tmp, constants.COPYFILE_FICLONE)
    chmodSync(tmp, 0o755)
    fsyncFile(tmp)
    onCopied?.()
    renameSync(tmp, dest)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dirname(dest))
}

/**
 * Makes `dest` (cco.backup) a second name of the installed binary `src`, right before the new
 * binary is renamed over `src`: a hard link staged under the update temp prefix, renamed over
 * `dest`, then the directory fsynced. No byte is copied or fsynced: the installed binary's data
 * is already on disk, only the new directory entry has to be. Once the new binary takes `src`,
 * `dest` is the only name of the previous binary, so a later `cp cco.backup cco` (which writes
 * into the new binary's inode) never changes it. Where the filesystem refuses hard links,
 * a durable copy (copyBinaryAtomic). `onLinked` runs between the link and the rename.
 */
export function linkBackupAtomic(src: string, dest: string, onLinked?: () => void): void {
  // Already a name of the installed binary (an earlier update interrupted right after this
  // step): nothing to do, and a rename between two names of one file would be a no-op that
  // leaves the staged name behind.
  const a = statSync(src)
  const b = statSync(dest, { throwIfNoEntry: false })
  if (b && a.dev === b.dev && a.ino === b.ino) return fsyncDir(dirname(dest))
  const tmp = join(dirname(dest), `${TEMP_DIR_PREFIX}${basename(dest)}-${process.pid}`)
  rmSync(tmp, { force: true })
  try {
    linkSync(src, tmp)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EMLINK' || code === 'ENOSYS') {
      return copyBinaryAtomic(src, dest, onLinked)
    }
    throw err
  }
  try {
    onLinked?.()
    renameSync(tmp, dest)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dirname(dest))
}
