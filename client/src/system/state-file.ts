// Opening state and log files (daemon.log and its rotations, updates.log, daemon.pid, host-id)
// without following symlinks: a link planted at one of these paths must never get another
// file written, truncated or chmod-ed, and a fifo must not hang cco. Only a regular file with a
// single link is used; anything else is refused with a message that says how to fix it.
// (Writes that replace a file go through fs-atomic.ts: a fresh temp file, O_EXCL, then a
// rename, which replaces a link itself and never writes through it.)
// readStateFile() is the one reader of cco's small JSON state files (pid file, install
// journal, trust state, handover record, update lock): read, parse, validate, typed result.
import { closeSync, constants, fchmodSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs'
import type * as z from 'zod'
import { firstIssue } from '../../../contract/issues.ts'
import { CliError, errnoCode, ExitCode, messageOf } from '../errors.ts'
import { shellWord } from './file-trust.ts'

// Windows has neither flag; its symlinks need privileges to create.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0
// A fifo planted at the path: the open fails (ENXIO, for writing) or returns at once instead
// of waiting for the other end; fstat then refuses it.
const NONBLOCK = constants.O_NONBLOCK ?? 0

/** A state or log file that cco refuses to open: a symlink, a fifo, a directory, a hard link. */
export class UnsafeStateFileError extends CliError {
  constructor(path: string, what: string, options?: ErrorOptions) {
    super(`refusing to use ${path}: ${what}; cco does not follow links for its state and log files (remove it: rm ${shellWord(path)})`, ExitCode.failure, options)
    this.name = 'UnsafeStateFileError'
  }
}

function openNoFollow(path: string, flags: number, mode?: number): number {
  try {
    return openSync(path, flags | NOFOLLOW | NONBLOCK, mode)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ELOOP' || code === 'EMLINK') throw new UnsafeStateFileError(path, 'it is a symbolic link', { cause: err })
    if (code === 'ENXIO') throw new UnsafeStateFileError(path, 'it is a fifo or a device', { cause: err })
    throw err
  }
}

function checkOpened(fd: number, path: string): void {
  const st = fstatSync(fd)
  if (!st.isFile()) throw new UnsafeStateFileError(path, 'it is not a regular file')
  // A hard link would have cco append to (or chmod) a file that also lives elsewhere.
  if (st.nlink > 1) throw new UnsafeStateFileError(path, `it has ${st.nlink} hard links`)
}

/** Opens `path` for reading (`cco daemon logs`), refusing what the writers refuse; the caller closes it. */
export function openForRead(path: string): number {
  const fd = openNoFollow(path, constants.O_RDONLY)
  try {
    checkOpened(fd, path)
    return fd
  } catch (err) {
    closeSync(fd)
    throw err
  }
}

export interface AppendOptions {
  /** Mode of a new file. */
  mode: number
  /** Also set `mode` on an existing file (through the descriptor, and only on our own file). */
  enforceMode?: boolean
}

/** Opens `path` for appending (created if missing); the caller closes the descriptor. */
export function openForAppend(path: string, o: AppendOptions): number {
  const fd = openNoFollow(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, o.mode)
  try {
    checkOpened(fd, path)
    if (o.enforceMode) {
      const st = fstatSync(fd)
      const mine = typeof process.geteuid !== 'function' || st.uid === process.geteuid()
      if (mine && (st.mode & 0o777) !== o.mode) {
        try {
          fchmodSync(fd, o.mode)
        } catch {
          // A read-only filesystem: still log into it.
        }
      }
    }
    return fd
  } catch (err) {
    closeSync(fd)
    throw err
  }
}

/**
 * The text of a small state file opened without following links, null when it does not exist;
 * at most `maxBytes` are read.
 */
export function readStateText(path: string, maxBytes = 64 * 1024): string | null {
  let fd: number
  try {
    fd = openNoFollow(path, constants.O_RDONLY)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
  try {
    checkOpened(fd, path)
    const buf = Buffer.alloc(maxBytes)
    let len = 0
    while (len < maxBytes) {
      const n = readSync(fd, buf, len, maxBytes - len, null)
      if (n === 0) break
      len += n
    }
    return buf.subarray(0, len).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

export type StateFileRead<T> =
  | { kind: 'missing' }
  /** It exists but cannot be read (permissions, a directory, a link refused by `noFollow`). */
  | { kind: 'unreadable'; reason: string; error: unknown }
  /** Not JSON, or JSON that the schema refuses (`reason`: the parser's message, or the first issue). */
  | { kind: 'invalid'; reason: string }
  | { kind: 'ok'; value: T }

export interface ReadStateFileOptions {
  /**
   * Open it as the state and log files are (readStateText): no symlink, fifo or hard link, at
   * most 64 KiB. Without it the path is read as it is.
   */
  noFollow?: boolean
  /** With `noFollow`: read at most this many bytes (default 64 KiB); a longer file is invalid JSON. */
  maxBytes?: number
}

/** Reads a JSON state file and validates it with `schema`; never throws. */
export function readStateFile<S extends z.ZodType>(path: string, schema: S, options: ReadStateFileOptions = {}): StateFileRead<z.output<S>> {
  let text: string
  try {
    const read = options.noFollow ? readStateText(path, options.maxBytes) : readFileSync(path, 'utf8')
    if (read === null) return { kind: 'missing' }
    text = read
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { kind: 'missing' }
    return { kind: 'unreadable', reason: messageOf(err), error: err }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return { kind: 'invalid', reason: messageOf(err) }
  }
  const parsed = schema.safeParse(json)
  return parsed.success ? { kind: 'ok', value: parsed.data } : { kind: 'invalid', reason: firstIssue(parsed.error) }
}
