// The one rule for files that decide what cco trusts (config.toml when it sets trust-bearing
// keys, the CA bundle named by network.ca_file, the admin token file), as OpenSSH's StrictModes
// has it: the file and every directory above it must be owned by you or by root and must not be
// writable by group or others, or someone else could swap what cco trusts. The walk up stops
// after your home directory when the file is under it (what is above home is the system's);
// elsewhere it goes up to `/`, where a world-writable directory with the sticky bit (`/tmp`) is
// accepted above the file's own directory, since others cannot rename or remove what is ours
// in it. The path is walked as given and as resolved: the rule applies to the file actually
// read, and every symlink on the way must be yours or root's too (whoever owns a link can
// re-point it after the check).
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs'
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

/** The home directory as given and as resolved (the walk up stops at either). */
function homeDirs(home?: string): string[] {
  const given = resolve(home ?? homedir())
  try {
    return [...new Set([given, realpathSync(given)])].filter((h) => h !== '/')
  } catch {
    return given === '/' ? [] : [given]
  }
}

export interface FileTrustOptions {
  /** The home directory where the walk up stops (default: the user's). */
  home?: string
  /** Check only the directories: the caller is about to replace the file with its own. */
  directoriesOnly?: boolean
}

/**
 * Checks `file` and the directories above it against the rule, along the path as given and
 * along the resolved one: a symlink on the way must be yours or root's too, or whoever owns
 * it could point it elsewhere after the check. A missing file is checked through its
 * directories only: whoever may create it there decides what it will say.
 */
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
  const seen = new Set<string>()
  const report = (problem: string, fix: string) => {
    if (seen.has(problem)) return
    seen.add(problem)
    result.problems.push(problem)
    result.fixes.push(fix)
  }
  const check = (path: string, st: Stats, stickyOk: boolean) => {
    if (st.uid !== uid && st.uid !== 0) {
      report(`${path} is owned by uid ${st.uid}, not by you (${myName(uid)}) or root`, `${uid === 0 ? '' : 'sudo '}chown ${st.isSymbolicLink() ? '-h ' : ''}${myName(uid)} ${shellWord(path)}`)
    }
    // A symlink's own mode means nothing; who may replace it is its directory's business.
    if (st.isSymbolicLink()) return
    const writable = st.mode & GROUP_OTHER_WRITE
    if (writable && !(stickyOk && st.isDirectory() && (st.mode & STICKY) !== 0)) {
      report(`${path} is writable by ${whoCanWrite(st.mode)} (mode ${octal(st.mode)})`, `chmod go-w ${shellWord(path)}`)
    }
  }
  const homes = homeDirs(o.home)
  const visited = new Set<string>()
  /**
   * One entry, judged as it is (lstat); a symlink is then followed to what it points at, and
   * the directories above that are walked too (for the file itself, its directory is its own).
   */
  const entry = (path: string, stickyOk: boolean, isFile = false) => {
    const st = lstatSync(path, { throwIfNoEntry: false })
    if (!st) return
    check(path, st, stickyOk)
    if (!st.isSymbolicLink()) return
    let target: string
    try {
      target = realpathSync(path)
    } catch {
      return
    }
    const t = statSync(target, { throwIfNoEntry: false })
    if (t) check(target, t, stickyOk)
    up(dirname(target), isFile)
  }
  /** Each directory from `dir` up to the home directory (when under it) or `/`. */
  const up = (dir: string, own: boolean) => {
    const underHome = homes.find((h) => dir === h || dir.startsWith(`${h}/`))
    for (;;) {
      // A directory seen as a parent further up is checked again as a file's own (stricter).
      const key = `${own}:${dir}`
      if (!visited.has(key)) {
        visited.add(key)
        // Earlier components are resolved by the kernel; this one is judged as it is, and
        // followed if it is a link. One that does not exist yet will be created by cco (0755).
        entry(dir, !own)
      }
      own = false
      if (dir === underHome || dirname(dir) === dir) break
      dir = dirname(dir)
    }
  }
  // When the caller replaces the file, a link there is replaced too: only its directory counts.
  if (!o.directoriesOnly) entry(absolute, false, true)
  up(dirname(absolute), true)

  const st = statSync(real, { throwIfNoEntry: false })
  if (st) {
    result.exists = true
    result.mode = st.mode & 0o777
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
