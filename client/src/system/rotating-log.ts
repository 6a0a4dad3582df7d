// The daemon's own log file, rotated by size: at the limit `daemon.log` becomes `daemon.log.1`,
// older files shift up to `.5` (the oldest is dropped) and a fresh file is opened. The service
// writes it itself (rather than relying on redirected stdout) so that it can rotate. Mode 0600:
// renames keep it, so the rotations are the owner's only too. The log is opened without
// following symlinks (state-file.ts); renames and removals act on the names themselves, so a
// link planted at `daemon.log.N` is moved or dropped, never written through.
import { closeSync, fstatSync, lstatSync, mkdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { DIR_MODE } from './fs-atomic.ts'
import { openForAppend } from './state-file.ts'

export const LOG_MAX_BYTES = 10 * 1024 * 1024
export const LOG_KEEP = 5

export interface RotatingLogOptions {
  maxBytes?: number
  /** How many rotated files to keep besides the live one. */
  keep?: number
}

export interface RotatingLog {
  write(text: string): void
  close(): void
}

/** What cco logs can name its settings and hosts: the log and its rotations are the owner's only. */
export const LOG_MODE = 0o600

/**
 * Opens a log for appending, mode 0600 (also a file an older cco created 0644, through the
 * descriptor and only when it is ours). A symlink, fifo or hard link at `path` is refused.
 */
export function openLogForAppend(path: string): number {
  return openForAppend(path, { mode: LOG_MODE, enforceMode: true })
}

export function rotatedName(path: string, n: number): string {
  return `${path}.${n}`
}

export function openRotatingLog(path: string, options: RotatingLogOptions = {}): RotatingLog {
  const maxBytes = options.maxBytes ?? LOG_MAX_BYTES
  const keep = options.keep ?? LOG_KEEP
  mkdirSync(dirname(path), { recursive: true, mode: DIR_MODE })
  let fd: number | null = null
  let ino = 0
  let size = 0

  const open = () => {
    fd = openLogForAppend(path)
    const st = fstatSync(fd)
    ino = st.ino
    size = st.size
  }
  const rotate = () => {
    if (fd !== null) closeSync(fd)
    fd = null
    try {
      rmSync(rotatedName(path, keep), { force: true })
    } catch {}
    for (let n = keep - 1; n >= 1; n--) {
      try {
        renameSync(rotatedName(path, n), rotatedName(path, n + 1))
      } catch {}
    }
    try {
      renameSync(path, rotatedName(path, 1))
    } catch {}
    open()
  }

  open()
  return {
    write(text) {
      const bytes = Buffer.from(text, 'utf8')
      try {
        // Another process writing the same file (the successor during a restart) may have
        // rotated it already: follow the name, not the old descriptor.
        // lstat: a symlink put in its place is a new name to open (and refuse), not the old file.
        const st = lstatSync(path, { throwIfNoEntry: false })
        if (!st || st.ino !== ino) {
          if (fd !== null) closeSync(fd)
          fd = null
          open()
        } else {
          size = Math.max(size, st.size)
        }
        if (size > 0 && size + bytes.length > maxBytes) rotate()
        writeSync(fd!, bytes)
        size += bytes.length
      } catch {
        // A full or vanished disk must not stop the service; the line is lost.
      }
    },
    close() {
      if (fd !== null) closeSync(fd)
      fd = null
    },
  }
}
