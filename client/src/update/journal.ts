// The install journal (`install-journal.json` in the state dir): written and fsynced before
// each phase of an install, so that the next cco run can finish or undo one that was
// interrupted (see recover.ts for the rules).
import { readdirSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import * as z from 'zod'
import { errnoCode } from '../errors.ts'
import { fsyncDir, writeFileAtomic } from '../system/fs-atomic.ts'
import { readStateFile } from '../system/state-file.ts'
import { nodeBinaryFs, type BinaryFs } from './platform-fs.ts'

export const TEMP_DIR_PREFIX = '.cco-update-'
/**
 * A binary renamed away on Windows so that its name can be reused (binary-files.ts
 * replaceName): never read again, removed at once unless it is still running.
 */
export const TRASH_PREFIX = `${TEMP_DIR_PREFIX}trash-`

const Sha = z.string().regex(/^[0-9a-f]{64}$/)

export const JournalSchema = z.object({
  format: z.literal(1),
  kind: z.enum(['update', 'rollback']),
  /**
   * preparing: only the temp dir exists; the install path is untouched.
   * swapping:  the backup and the rename may have happened; new_sha256/previous_sha256 tell.
   * verifying: the new binary is in place and being checked.
   */
  phase: z.enum(['preparing', 'swapping', 'verifying']),
  pid: z.int(),
  started_at: z.string(),
  install_path: z.string(),
  backup_path: z.string(),
  temp_dir: z.string(),
  new_binary: z.string().nullable(),
  expected_version: z.string().nullable(),
  new_sha256: Sha.nullable(),
  /** sha256 of the binary that was installed before, null when there was none. */
  previous_sha256: Sha.nullable(),
  previous_version: z.string().nullable(),
})
export type Journal = z.infer<typeof JournalSchema>

export type JournalRead = { kind: 'none' } | { kind: 'ok'; journal: Journal } | { kind: 'corrupt'; reason: string }

/** Cheap when there is no journal: one failed open. */
export function readJournal(file: string): JournalRead {
  const read = readStateFile(file, JournalSchema)
  switch (read.kind) {
    case 'missing':
      return { kind: 'none' }
    case 'ok':
      return { kind: 'ok', journal: read.value }
    case 'unreadable':
      return { kind: 'corrupt', reason: String(read.error) }
    case 'invalid':
      return { kind: 'corrupt', reason: read.reason.slice(0, 200) }
  }
}

export function writeJournal(file: string, journal: Journal): void {
  writeFileAtomic(file, `${JSON.stringify(JournalSchema.parse(journal), null, 2)}\n`, { mode: 0o600 })
}

/** The journal of an install or rollback that has only created its temp dir (phase `preparing`). */
export function startJournal(
  file: string,
  o: { kind: Journal['kind']; installPath: string; backupPath: string; tempDir: string; expectedVersion: string; previousVersion: string | null; startedAt: string },
): void {
  writeJournal(file, {
    format: 1,
    kind: o.kind,
    phase: 'preparing',
    pid: process.pid,
    started_at: o.startedAt,
    install_path: o.installPath,
    backup_path: o.backupPath,
    temp_dir: o.tempDir,
    new_binary: null,
    expected_version: o.expectedVersion,
    new_sha256: null,
    previous_sha256: null,
    previous_version: o.previousVersion,
  })
}

export function clearJournal(file: string): void {
  rmSync(file, { force: true })
  fsyncDir(dirname(file))
}

/** A temp dir (or staged copy) of an update: named with our prefix, in the install directory. */
export function isUpdateTemp(path: string, installPath: string): boolean {
  const p = resolve(path)
  return dirname(p) === dirname(resolve(installPath)) && basename(p).startsWith(TEMP_DIR_PREFIX)
}

/**
 * Removes an update's temp dir, but only one that looks like ours and sits in the install
 * directory: a path read back from a file must never become an arbitrary `rm -rf`.
 */
export function removeTempDir(tempDir: string, installPath: string, fs: BinaryFs = nodeBinaryFs()): void {
  if (!isUpdateTemp(tempDir, installPath)) return
  try {
    fs.remove(resolve(tempDir), { recursive: true })
  } catch (err) {
    // Windows: a binary in it is still running (a daemon started from it). The next sweep.
    if (!isBusyCode(errnoCode(err))) throw err
  }
}

function isBusyCode(code: string | undefined): boolean {
  return code === 'EPERM' || code === 'EBUSY' || code === 'EACCES'
}

/**
 * Removes every leftover of earlier interrupted updates beside the install path: temp dirs
 * and staged copies of a binary (see binary-files.ts). Only under the update lock, so that no
 * other updater can be using them.
 */
export function sweepUpdateTemps(installPath: string, fs: BinaryFs = nodeBinaryFs()): void {
  sweep(installPath, TEMP_DIR_PREFIX, fs)
}

/**
 * Removes the binaries that earlier installs renamed away on Windows while they were running
 * (TRASH_PREFIX), once they no longer run. Safe without the update lock: nobody reads them.
 * Run at every cco start on Windows (recover.ts): one readdir of the install directory.
 */
export function sweepTrash(installPath: string, fs: BinaryFs = nodeBinaryFs()): void {
  sweep(installPath, TRASH_PREFIX, fs)
}

function sweep(installPath: string, prefix: string, fs: BinaryFs): void {
  const dir = dirname(resolve(installPath))
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return
    throw err
  }
  for (const name of names) if (name.startsWith(prefix)) removeTempDir(join(dir, name), installPath, fs)
}
