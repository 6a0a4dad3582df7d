// The daemon runs from a private copy of its single executable, never from the install path:
// a running executable is "busy" to the kernel, and `cp ~/.local/bin/cco.backup
// ~/.local/bin/cco` (the administrator guide's manual rollback, the exit-6 message) opens it
// for writing, which fails with ETXTBSY while the daemon executes it. So `cco run`, started as a
// single executable from anywhere but the private directory, copies the program it runs
// (/proc/self/exe: exactly these bytes, even if the install path was replaced meanwhile) to
// `<state dir>/run/cco-<version>-<pid>` (directory 0700), fsyncs it, checks that all of it
// arrived and that it answers `--version` as this version, and replaces itself with that copy
// (execve: the same pid, so `cco daemon start`, a restart into a new binary and systemd/launchd
// all keep the pid they started). The copy is told the install path it stands for
// (INSTALL_PATH_ENV), removes itself when it exits, and copies left by daemons that were killed
// are removed by the next start and by `cco daemon stop`. A bundle run by Node (`node cco.cjs
// run`) is only read at start and never busy: it runs in place.
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { isSea } from 'node:sea'
import type { AppContext } from '../context.ts'
import { messageOf } from '../errors.ts'
import { isCcoProgramPath } from '../system/daemon-identity.ts'
import { envValue } from '../system/env.ts'
import { fsyncDir } from '../system/fs-atomic.ts'
import { backupPathFor, type Paths } from '../system/paths.ts'
import { isPidAlive, processExe } from '../system/process-info.ts'
import { probeVersion } from '../system/probe-version.ts'

/** Set by the daemon for its private copy: the install path the copy stands for. */
export const INSTALL_PATH_ENV = 'CCO_DAEMON_INSTALL_PATH'
/** `cco-<version>-<pid>`: the pid is the daemon's own (execve keeps it). */
const COPY_NAME = /^cco-.+-([1-9]\d*)$/
/**
 * Written in 64 KiB pieces: the page cache keeps a file in folios as large as the writes that
 * made it (Linux 6.x on ext4 and others), and a fault in an executable maps the whole folio, so
 * a copy written in 1 MiB pieces left the daemon 26 MiB larger in resident size (73 MiB of the
 * binary mapped instead of 47 MiB, for the same code run); 64 KiB maps what `cp` would.
 */
const CHUNK = 64 << 10

export function runDir(paths: Pick<Paths, 'stateDir'>): string {
  return join(paths.stateDir, 'run')
}

/** Whether this process is a single executable running from its private copy. */
export function runsFromPrivateCopy(paths: Pick<Paths, 'stateDir'>, o: { sea?: boolean; execPath?: string } = {}): boolean {
  const execPath = o.execPath ?? process.execPath
  return (o.sea ?? isSea()) && dirname(execPath) === runDir(paths) && COPY_NAME.test(execPath.slice(runDir(paths).length + 1))
}

/**
 * The app as the daemon running from its private copy sees it: the install path (and backup)
 * it stands for, not the copy, and an environment without INSTALL_PATH_ENV (so that nothing it
 * starts inherits it). Anything else is returned as it is. The variable is honoured only in a
 * private copy; elsewhere it could only point an ordinary command at another file.
 */
export function asInstalledDaemon(app: AppContext): AppContext {
  if (!runsFromPrivateCopy(app.paths)) return app
  const installPath = envValue(app.env, INSTALL_PATH_ENV)
  const env = { ...app.env }
  delete env[INSTALL_PATH_ENV]
  delete process.env[INSTALL_PATH_ENV]
  if (installPath === undefined || !isAbsolute(installPath)) return { ...app, env }
  return { ...app, env, paths: { ...app.paths, installPath, backupPath: backupPathFor(installPath) } }
}

/** Removes this process's own copy (on its way out). Never throws: the next start sweeps it. */
export function removeOwnCopy(paths: Pick<Paths, 'stateDir'>): void {
  if (!runsFromPrivateCopy(paths)) return
  try {
    rmSync(process.execPath, { force: true })
  } catch {}
}

/**
 * Removes the copies in the run directory whose daemon is gone: the pid is dead, or it now runs
 * a program that is not cco (a reused pid). `except` (this process's pid) is kept. Where the
 * kernel cannot say which program a live pid runs (no /proc), its copy is kept. Returns the
 * removed paths.
 */
export function sweepStaleCopies(paths: Pick<Paths, 'stateDir'>, o: { except?: number } = {}): string[] {
  const dir = runDir(paths)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const m = COPY_NAME.exec(name)
    if (!m) continue
    const pid = Number(m[1])
    const file = join(dir, name)
    if (pid === o.except) continue
    let stale = !isPidAlive(pid)
    if (!stale) {
      // A live pid keeps its copy while it runs it, or runs cco at all: a daemon still making
      // its copy runs from the install path until its execve.
      const exe = processExe(pid)
      stale = exe.kind === 'exe' && exe.path !== file && !isCcoProgramPath(exe.path)
    }
    if (!stale) continue
    try {
      rmSync(file, { force: true })
      removed.push(file)
    } catch {}
  }
  return removed
}

/** The run directory: created 0700, and only used when it is a real directory of ours. */
function ensureRunDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = lstatSync(dir)
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`)
  const me = typeof process.getuid === 'function' ? process.getuid() : null
  if (me !== null && st.uid !== me) throw new Error(`${dir} is owned by uid ${st.uid}, not by you`)
  if ((st.mode & 0o077) !== 0) {
    // fchmod on the opened directory, never chmod on a path (a link could be swapped in).
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    try {
      if (fstatSync(fd).ino !== st.ino) throw new Error(`${dir} changed while it was opened`)
      fchmodSync(fd, 0o700)
    } finally {
      closeSync(fd)
    }
  }
}

/**
 * Copies `src` to the new file `dest` (O_EXCL, no links followed), fsynced, and checks that the
 * whole of what was opened arrived (a short copy would be a truncated program).
 */
function copyOut(src: string, dest: string): void {
  const buf = Buffer.allocUnsafe(CHUNK)
  let bytes = 0
  const from = openSync(src, constants.O_RDONLY)
  try {
    const size = fstatSync(from).size
    const to = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o700)
    try {
      // Executable whatever the umask (a umask of 0177 would leave it 0600).
      fchmodSync(to, 0o700)
      for (;;) {
        const n = readSync(from, buf, 0, CHUNK, null)
        if (n === 0) break
        let off = 0
        while (off < n) off += writeSync(to, buf, off, n - off)
        bytes += n
      }
      // Before anyone executes it: the copy must be on disk as a whole.
      fsyncSync(to)
      if (bytes !== size || fstatSync(to).size !== size) throw new Error(`copied ${bytes} of ${size} bytes`)
    } finally {
      closeSync(to)
    }
  } finally {
    closeSync(from)
  }
}

/**
 * Makes this process's private copy (replacing a leftover of the same name) and returns its
 * path: the whole program, fsynced. Whether it runs is checked by the caller (`--version`).
 */
export function makePrivateCopy(paths: Pick<Paths, 'stateDir'>, version: string): string {
  const dir = runDir(paths)
  ensureRunDir(dir)
  sweepStaleCopies(paths, { except: process.pid })
  const copy = join(dir, `cco-${version.replace(/[^0-9A-Za-z.+_-]/g, '_')}-${process.pid}`)
  // A copy of this pid can only be a leftover of an earlier process given the same pid.
  rmSync(copy, { force: true })
  // On Linux the kernel's handle on the running program: exactly these bytes, even when the
  // install path was replaced since this process started.
  const source = process.platform === 'linux' ? '/proc/self/exe' : process.execPath
  try {
    copyOut(source, copy)
    fsyncDir(dir)
  } catch (err) {
    rmSync(copy, { force: true })
    throw err
  }
  return copy
}

type Execve = (file: string, args?: readonly string[], env?: Record<string, string>) => never

export type PrivateCopyOutcome = { kind: 'not-needed' } | { kind: 'in-place'; why: string }

/**
 * Before `cco run` starts serving: a single executable outside its private directory replaces
 * itself with a private copy (this call then never returns). Returns when the daemon runs in
 * place: a bundle (never busy), already the copy, or a system without execve (Windows), or the
 * copy could not be made or does not run (`why`, for the log: the daemon matters more than the
 * manual `cp`).
 */
export async function execFromPrivateCopy(app: AppContext, o: { sea?: boolean } = {}): Promise<PrivateCopyOutcome> {
  if (!(o.sea ?? isSea()) || runsFromPrivateCopy(app.paths)) return { kind: 'not-needed' }
  const execve = (process as unknown as { execve?: Execve }).execve
  if (typeof execve !== 'function' || process.platform === 'win32') return { kind: 'in-place', why: 'this system cannot replace a running process (no execve)' }
  let copy: string
  try {
    copy = makePrivateCopy(app.paths, app.version)
  } catch (err) {
    return { kind: 'in-place', why: `could not copy the program to ${runDir(app.paths)}: ${messageOf(err)}` }
  }
  // The self-test every binary cco is about to rely on passes (update/prepare.ts): a failed
  // execve cannot be caught (Node aborts the process), so a copy that does not start — a
  // state dir mounted noexec, say — must be found out here, while running in place still works.
  const probe = await probeVersion(copy, app.env)
  if (!probe.ok || probe.version !== app.version) {
    rmSync(copy, { force: true })
    return { kind: 'in-place', why: `the copy ${copy} does not run as cco ${app.version}: ${probe.ok ? `it reports ${probe.version}` : probe.problem}` }
  }
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  env[INSTALL_PATH_ENV] = app.paths.installPath
  // A single executable's argv is [binary, binary, …arguments]: Node puts the binary in again.
  const args = [copy, ...process.argv.slice(2)]
  try {
    execve.call(process, copy, args, env)
  } catch (err) {
    rmSync(copy, { force: true })
    return { kind: 'in-place', why: `could not start ${copy}: ${messageOf(err)}` }
  }
  return { kind: 'in-place', why: 'execve returned' }
}
