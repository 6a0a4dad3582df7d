// Durable file writes: temp file + fsync + rename + directory fsync, so a crash leaves either
// the old or the new content, never a torn file.
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { errnoCode } from '../errors.ts'

/**
 * Mode of the directories cco creates (config dir, state dir, trust dir): never writable by
 * group or others, whatever the umask. A umask of 002 (user private groups) would otherwise
 * give cco a config directory that the rule of file-trust.ts refuses.
 */
export const DIR_MODE = 0o755

export interface WriteAtomicOptions {
  mode?: number
}

/** Replaces `path` with `data` atomically; on any error the old file is untouched. */
export function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteAtomicOptions = {}): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: DIR_MODE })
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`)
  let fd: number | undefined
  try {
    fd = openSync(tmp, 'wx', options.mode ?? 0o644)
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let off = 0
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off)
    // The data must be on disk before the rename makes it visible under the real name;
    // otherwise a power loss can leave a renamed but empty file.
    fsyncSync(fd)
    closeSync(fd)
    fd = undefined
    renameSync(tmp, path)
  } catch (err) {
    if (fd !== undefined) closeSync(fd)
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dir)
}

/** Makes a rename or a new entry in `dir` durable (the directory's own metadata). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch (err) {
    // Windows cannot open directories, and some filesystems refuse fsync on them; the
    // rename itself is still atomic there, only its durability is weaker.
    const code = errnoCode(err)
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** Flushes a file's data to disk. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
