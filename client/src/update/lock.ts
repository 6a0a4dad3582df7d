// One updater per host: an O_EXCL lock file naming its owner (pid + process start time).
// A lock left by a dead process is taken over; a live one is waited for, then refused.
import { randomBytes } from 'node:crypto'
import { closeSync, linkSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import * as z from 'zod'
import { CliError, errnoCode, ExitCode } from '../errors.ts'
import { isSameProcessAlive, processStartTicks } from '../system/process-info.ts'
import { readStateFile } from '../system/state-file.ts'

const OwnerSchema = z.object({
  pid: z.int(),
  start_ticks: z.string().nullable(),
  started_at: z.string(),
  host: z.string(),
  token: z.string(),
})
export type LockOwner = z.infer<typeof OwnerSchema>

export interface LockHandle {
  owner: LockOwner
  /** How long acquiring had to wait for another holder (0 when the lock was free). */
  waitedMs: number
  release(): void
}

export interface LockOptions {
  /** How long to wait for a live holder before refusing. */
  waitMs?: number
  pollMs?: number
  /** What the lock protects, for the refusal message. */
  what?: string
}

/** A lock file younger than this with unreadable content is being written right now. */
const FRESH_MS = 5_000

function readOwner(path: string): { owner: LockOwner | null; ageMs: number } | null {
  let ageMs: number
  try {
    ageMs = Date.now() - statSync(path).mtimeMs
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
  // Gone, unreadable or half-written since the stat: an owner nobody can name (see FRESH_MS).
  const read = readStateFile(path, OwnerSchema)
  return { owner: read.kind === 'ok' ? read.value : null, ageMs }
}

function isStale(info: { owner: LockOwner | null; ageMs: number }): boolean {
  if (!info.owner) return info.ageMs > FRESH_MS
  // A lock from another machine (shared home directory) cannot be checked: never stale.
  if (info.owner.host !== hostname()) return false
  return !isSameProcessAlive(info.owner.pid, info.owner.start_ticks)
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o644)
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false
    throw err
  }
  try {
    writeSync(fd, JSON.stringify(owner))
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * Moves a stale lock out of the way. Renaming is atomic, so of two processes that both found
 * it stale only one moves it; the other sees ENOENT and simply retries the O_EXCL create.
 */
function takeOverStale(path: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    renameSync(path, aside)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return
    throw err
  }
  const moved = readOwner(aside)
  if (moved && !isStale(moved)) {
    // Between our check and the rename a live process created a fresh lock: put it back.
    try {
      linkSync(aside, path)
    } catch {}
  }
  try {
    unlinkSync(aside)
  } catch {}
}

export function tryAcquireLock(path: string): LockHandle | { heldBy: LockOwner | null } {
  mkdirSync(dirname(path), { recursive: true })
  const owner: LockOwner = {
    pid: process.pid,
    start_ticks: processStartTicks(process.pid),
    started_at: new Date().toISOString(),
    host: hostname(),
    token: randomBytes(8).toString('hex'),
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, owner)) return handle(path, owner, 0)
    const info = readOwner(path)
    if (info === null) continue // released meanwhile
    if (!isStale(info)) return { heldBy: info.owner }
    takeOverStale(path)
  }
  return { heldBy: readOwner(path)?.owner ?? null }
}

function handle(path: string, owner: LockOwner, waitedMs: number): LockHandle {
  let released = false
  return {
    owner,
    waitedMs,
    release() {
      if (released) return
      released = true
      // Only remove the file if it is still ours (never someone else's fresh lock).
      const info = readOwner(path)
      if (info?.owner?.token === owner.token) {
        try {
          unlinkSync(path)
        } catch {}
      }
    },
  }
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<LockHandle> {
  const waitMs = options.waitMs ?? 10_000
  const pollMs = options.pollMs ?? 100
  const started = Date.now()
  for (let attempt = 0; ; attempt++) {
    const got = tryAcquireLock(path)
    if ('release' in got) return { ...got, waitedMs: attempt === 0 ? 0 : Math.max(1, Date.now() - started), release: got.release }
    if (Date.now() - started >= waitMs) {
      const pid = got.heldBy ? ` (pid ${got.heldBy.pid})` : ''
      throw new CliError(`another ${options.what ?? 'update'} is in progress${pid}`, ExitCode.failure, { kind: 'lock' })
    }
    await new Promise((r) => setTimeout(r, pollMs))
  }
}
