// File operations on binaries: hashing, durable copies for the backup and the restore.
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { CliError, errnoCode, ExitCode, messageOf } from '../errors.ts'
import { TEMP_DIR_PREFIX, TRASH_PREFIX } from './journal.ts'
import { nodeBinaryFs, type BinaryFs } from './platform-fs.ts'

/**
 * `Failed to install new binary: cannot write …` (exit 1): a write into the install directory
 * failed (disk full, quota, file size limit). Not the archive's fault and not the network's.
 */
export function installWriteError(path: string, err: unknown): CliError {
  return new CliError(`Failed to install new binary: cannot write ${path}: ${messageOf(err)}`, ExitCode.failure, { cause: err, kind: 'disk' })
}

/** The read size of fileSha256. */
const HASH_BLOCK = 1024 * 1024

/**
 * sha256 of a file, or null when it does not exist. Read in 1 MiB blocks into one buffer: the
 * installed binary is a single executable of about 120 MiB, and reading it whole cost a heap
 * buffer of that size and its page faults (about 300 ms for the "hash previous" step of an
 * update replacing a real single executable, against about 60 ms of hashing).
 */
export function fileSha256(path: string): string | null {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
  try {
    const hash = createHash('sha256')
    const block = Buffer.allocUnsafe(HASH_BLOCK)
    for (let n; (n = readSync(fd, block, 0, HASH_BLOCK, null)) > 0; ) hash.update(block.subarray(0, n))
    return hash.digest('hex')
  } finally {
    closeSync(fd)
  }
}

/** Files at least this large are hashed on a worker thread by startFileSha256; smaller ones inline. */
const BACKGROUND_HASH_BYTES = 16 * 1024 * 1024

/** The sha256 of a file being computed on a worker thread (startFileSha256). */
export interface PendingSha256 {
  /** fileIdentity() of the file when hashing started. */
  identity: string | null
  sha256: Promise<string | null>
  /** Lets the worker keep the process alive (it does not until someone waits for it). */
  ref(): void
  /** Stops the worker: the hash is not needed any more. */
  cancel(): void
}

// The worker's source: CommonJS with built-ins only, so it runs the same from the bundle and
// from the single executable (no file of its own to find).
const HASH_WORKER = `const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const fs = require('node:fs')
const fd = fs.openSync(workerData, 'r')
const hash = createHash('sha256')
const block = Buffer.allocUnsafe(${HASH_BLOCK})
for (let n; (n = fs.readSync(fd, block, 0, block.length, null)) > 0; ) hash.update(block.subarray(0, n))
fs.closeSync(fd)
parentPort.postMessage(hash.digest('hex'))`

/**
 * Starts the sha256 of the installed binary while the new one downloads: the install's journal
 * needs it before the swap, and hashing a 120 MiB single executable on the main thread cost
 * about 60-150 ms after the download (the main thread is the bottleneck of the download, a
 * second core is not). Small files (the one-file bundle) and any failure fall back to
 * fileSha256 at the time of use (settledSha256). The worker does not keep the process alive
 * until ref() (an update that fails early must not wait for it).
 */
export function startFileSha256(path: string): PendingSha256 | undefined {
  const st = statSync(path, { throwIfNoEntry: false })
  if (!st || !st.isFile() || st.size < BACKGROUND_HASH_BYTES) return undefined
  const identity = fileIdentity(path)
  let worker: Worker
  try {
    worker = new Worker(HASH_WORKER, { eval: true, workerData: path, stdout: true, stderr: true })
  } catch {
    return undefined
  }
  worker.unref()
  const sha256 = new Promise<string | null>((resolve, reject) => {
    worker.once('message', (hex: unknown) => (typeof hex === 'string' && /^[0-9a-f]{64}$/.test(hex) ? resolve(hex) : reject(new Error('no digest'))))
    worker.once('error', reject)
    worker.once('exit', () => reject(new Error('the hash worker ended without a digest')))
  })
  sha256.catch(() => {})
  return { identity, sha256, ref: () => worker.ref(), cancel: () => void worker.terminate() }
}

/**
 * The sha256 of `path` now: the background one when it finished for the same file (same
 * device, inode, size and mtime as when it started), else read here.
 */
export async function settledSha256(path: string, pending: PendingSha256 | undefined): Promise<string | null> {
  if (pending && pending.identity !== null && fileIdentity(path) === pending.identity) {
    pending.ref()
    const hex = await pending.sha256.catch(() => null)
    if (hex !== null && fileIdentity(path) === pending.identity) return hex
  }
  pending?.cancel()
  return fileSha256(path)
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
export function copyBinaryAtomic(src: string, dest: string, onCopied?: () => void, fs: BinaryFs = nodeBinaryFs()): void {
  const tmp = join(dirname(dest), `${TEMP_DIR_PREFIX}${basename(dest)}-${process.pid}`)
  fs.remove(tmp)
  try {
    // A new file: its bytes (and a macOS binary's embedded signature) are src's, and no file
    // that may be running is ever opened for writing.
    fs.copyFile(src, tmp)
    fs.chmod(tmp, 0o755)
    fs.fsyncFile(tmp)
    onCopied?.()
    replaceName(tmp, dest, fs)
  } catch (err) {
    fs.remove(tmp)
    throw err
  }
  fs.fsyncDir(dirname(dest))
}

/**
 * `rename(from, to)`, also where `to` may be a running executable. POSIX renames over it.
 * Windows refuses to rename over (or delete) a running .exe but lets it be renamed away: there
 * `to` is first renamed to a `.cco-update-trash-` name in the same directory and deleted if it can be;
 * one that is still running is left for the next cco start (sweepTrash in journal.ts). Between
 * the two renames `to` does not exist: the journal's recovery handles a missing install path
 * and a missing backup. `onMovedAside` runs once `to` is free (the crash point of the tests).
 */
export function replaceName(from: string, to: string, fs: BinaryFs = nodeBinaryFs(), onMovedAside?: () => void): void {
  if (fs.platform === 'win32' && existsSync(to)) {
    // Random, not the time: two names moved aside within one millisecond (a rollback moves
    // cco.backup.exe and then cco.exe) must not collide, as a rename over the first would fail.
    const trash = join(dirname(to), `${TRASH_PREFIX}${basename(to)}-${process.pid}-${randomBytes(6).toString('hex')}`)
    fs.rename(to, trash)
    try {
      fs.remove(trash)
    } catch (err) {
      if (!isBusy(err)) throw err
    }
  }
  onMovedAside?.()
  fs.rename(from, to)
}

/** How Windows (and our layer of its rules) refuses to touch a running file. */
export function isBusy(err: unknown): boolean {
  const code = errnoCode(err)
  return code === 'EPERM' || code === 'EBUSY' || code === 'EACCES'
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
export function linkBackupAtomic(src: string, dest: string, onLinked?: () => void, fs: BinaryFs = nodeBinaryFs()): void {
  // Already a name of the installed binary (an earlier update interrupted right after this
  // step): nothing to do, and a rename between two names of one file would be a no-op that
  // leaves the staged name behind.
  const a = statSync(src)
  const b = statSync(dest, { throwIfNoEntry: false })
  if (b && a.dev === b.dev && a.ino === b.ino) return fs.fsyncDir(dirname(dest))
  const tmp = join(dirname(dest), `${TEMP_DIR_PREFIX}${basename(dest)}-${process.pid}`)
  fs.remove(tmp)
  try {
    fs.link(src, tmp)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EMLINK' || code === 'ENOSYS') {
      return copyBinaryAtomic(src, dest, onLinked, fs)
    }
    throw err
  }
  try {
    onLinked?.()
    fs.rename(tmp, dest)
  } catch (err) {
    fs.remove(tmp)
    throw err
  }
  fs.fsyncDir(dirname(dest))
}

/**
 * The Windows variant of "keep the installed binary as cco.backup.exe": the installed cco.exe
 * is usually the running process, which Windows will not let anything be renamed over, so it
 * is renamed away to cco.backup.exe (allowed for a running file; the old cco.backup.exe, which
 * may be running too, goes to the trash first). Afterwards the install path is free and the new
 * binary is renamed to it. Interrupted in between, the install path is missing and cco.backup.exe
 * is the previous binary: recovery copies it back. `onCleared` runs once the old backup is gone.
 */
export function moveInstalledToBackup(src: string, dest: string, onCleared?: () => void, fs: BinaryFs = nodeBinaryFs()): void {
  replaceName(src, dest, fs, onCleared)
  fs.fsyncDir(dirname(dest))
}
