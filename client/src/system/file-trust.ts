// The one rule for files that decide what cco trusts (config.toml when it sets trust-bearing
// keys, the CA bundle named by network.ca_file, the admin token file), as OpenSSH's StrictModes
// has it: the file and every directory above it must be owned by you or by root and must not be
// writable by group or others, or someone else could swap what cco trusts. The walk up stops
// after your home directory when the file is under it (what is above home is the system's);
// elsewhere it goes up to `/`, where a world-writable directory with the sticky bit (`/tmp`) is
// accepted above the file's own directory, since others cannot rename or remove what is ours
// in it. Symlinks are resolved first, so the rule applies to the file actually read.
import { realpathSync, statSync, type Stats } from 'node:fs'
import { homedir, userInfo } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { errnoCode, UsageError } from '../errors.ts'

export interface FileTrust {
  /** The file as it is actually read: symlinks resolved. */
  path: string
  exists: boolean
  /** Each way that someone else can change the file: `… is writable by group (mode 0664)`. */
  problems: string[]
  /** The commands that fix them, in the same order. */
  fixes: string[]
  /** The file's permission bits (0644), null when it does not exist or on Windows. */
  mode: number | null
}

const STICKY = 0o1000
const GROUP_OTHER_WRITE = 0o022

/** A path as a shell word, so that the printed fix can be pasted as it is. */
export function shellWord(path: string): string {
  return /^[\w@%+=:,./~-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0')
}

function whoCanWrite(mode: number): string {
  const g = (mode & 0o020) !== 0
  const o = (mode & 0o002) !== 0
  return g && o ? 'group and others' : g ? 'group' : 'others'
}

function myName(uid: number): string {
  if (uid === 0) return 'root'
  try {
    return userInfo().username || String(uid)
  } catch {
    return String(uid)
  }
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
function realpathOfNearest(p: string): string {
  try {
    return realpathSync(p)
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err
    const parent = dirname(p)
    if (parent === p) return p
    return join(realpathOfNearest(parent), basename(p))
  }
}

function homeDir(home?: string): string | null {
  try {
    return realpathSync(home ?? homedir())
  } catch {
    return null
  }
}

/**
 * Checks `file` (and the directories above it) against the rule. A missing file is checked
 * through its directories only: whoever may create it there decides what it will say.
 */
export interface FileTrustOptions {
  /** The home directory where the walk up stops (default: the user's). */
  home?: string
  /** Check only the directories: the caller is about to replace the file with its own. */
  directoriesOnly?: boolean
}

export function inspectFileTrust(file: string, o: FileTrustOptions = {}): FileTrust {
  const absolute = resolve(file)
  const result: FileTrust = { path: absolute, exists: false, problems: [], fixes: [], mode: null }
  // Windows has no such mode bits; its ACLs are out of scope here.
  if (process.platform === 'win32' || typeof process.geteuid !== 'function') {
    result.exists = statSync(absolute, { throwIfNoEntry: false }) !== undefined
    return result
  }
  const uid = process.geteuid()
  const real = realpathOfNearest(absolute)
  result.path = real
  const check = (path: string, st: Stats, stickyOk: boolean) => {
    if (st.uid !== uid && st.uid !== 0) {
      result.problems.push(`${path} is owned by uid ${st.uid}, not by you (${myName(uid)}) or root`)
      result.fixes.push(`${uid === 0 ? '' : 'sudo '}chown ${myName(uid)} ${shellWord(path)}`)
    }
    const writable = st.mode & GROUP_OTHER_WRITE
    if (writable && !(stickyOk && st.isDirectory() && (st.mode & STICKY) !== 0)) {
      result.problems.push(`${path} is writable by ${whoCanWrite(st.mode)} (mode ${octal(st.mode)})`)
      result.fixes.push(`chmod go-w ${shellWord(path)}`)
    }
  }

  const st = statSync(real, { throwIfNoEntry: false })
  if (st) {
    result.exists = true
    result.mode = st.mode & 0o777
    if (!o.directoriesOnly) check(real, st, false)
  }
  const home = homeDir(o.home)
  const underHome = home !== null && home !== '/' && (real === home || real.startsWith(`${home}/`))
  let dir = dirname(real)
  let own = true
  for (;;) {
    const d = statSync(dir, { throwIfNoEntry: false })
    // A directory that does not exist yet will be created by cco, with our umask.
    if (d) check(dir, d, !own)
    own = false
    if ((underHome && dir === home) || dirname(dir) === dir) break
    dir = dirname(dir)
  }
  return result
}

/** `problem; problem. Fix with: cmd && cmd` */
export function describeTrustProblems(t: FileTrust): string {
  return `others can change it: ${t.problems.join('; ')}. Fix with: ${[...new Set(t.fixes)].join(' && ')}`
}

/**
 * Refuses (UsageError, exit 2) a trust-bearing file that someone else can change. `what` names
 * the file (`config file`), `why` says what it decides (`it sets updates.server`).
 */
export function requireTrustedFile(file: string, what: string, why: string, o: FileTrustOptions = {}): FileTrust {
  const t = inspectFileTrust(file, o)
  if (t.problems.length > 0) {
    const shown = t.path === resolve(file) ? file : `${file} (${t.path})`
    throw new UsageError(`refusing ${what} ${shown}: ${why}, but ${describeTrustProblems(t)}`)
  }
  return t
}
