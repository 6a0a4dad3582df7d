// Where cco keeps its config, its state and the binary it replaces (client/README.md "Files", XDG honoured).
import { homedir } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { isSea } from 'node:sea'
import { envValue, type Env } from './env.ts'

export interface Paths {
  home: string
  configDir: string
  configFile: string
  stateDir: string
  hostIdFile: string
  trustDir: string
  updateLock: string
  installJournal: string
  updatesLog: string
  daemonPid: string
  daemonLog: string
  /** The binary `cco update` replaces. */
  installPath: string
  /** The previous binary, kept after every install (`cco.backup` beside the install path). */
  backupPath: string
}

export interface PathOptions {
  /** True when this process is a Node single executable (the release binary). */
  sea?: boolean
  execPath?: string
}

// The XDG spec says relative values are to be ignored.
function xdg(env: Env, name: string, fallback: string): string {
  const v = envValue(env, name)
  return v !== undefined && isAbsolute(v) ? v : fallback
}

export function resolvePaths(env: Env, options: PathOptions = {}): Paths {
  const home = envValue(env, 'HOME') ?? envValue(env, 'USERPROFILE') ?? homedir()
  const configDir = join(xdg(env, 'XDG_CONFIG_HOME', join(home, '.config')), 'cco')
  const stateDir = join(xdg(env, 'XDG_STATE_HOME', join(home, '.local', 'state')), 'cco')
  const installPath = resolveInstallPath(env, home, options)
  return {
    home,
    configDir,
    configFile: join(configDir, 'config.toml'),
    stateDir,
    hostIdFile: join(stateDir, 'host-id'),
    trustDir: join(stateDir, 'trust'),
    updateLock: join(stateDir, 'update.lock'),
    installJournal: join(stateDir, 'install-journal.json'),
    updatesLog: join(stateDir, 'updates.log'),
    daemonPid: join(stateDir, 'daemon.pid'),
    daemonLog: join(stateDir, 'daemon.log'),
    installPath,
    backupPath: backupPathFor(installPath),
  }
}

function resolveInstallPath(env: Env, home: string, options: PathOptions): string {
  const sea = options.sea ?? isSea()
  if (sea) return options.execPath ?? process.execPath
  const override = envValue(env, 'CCO_INSTALL_PATH')
  if (override !== undefined) return resolve(override)
  return join(home, '.local', 'bin', process.platform === 'win32' ? 'cco.exe' : 'cco')
}

/** `…/cco` → `…/cco.backup` (`cco.exe` → `cco.backup.exe`, so Windows still runs it). */
export function backupPathFor(installPath: string): string {
  const name = basename(installPath)
  const exe = /\.exe$/i.exec(name)?.[0]
  const stem = exe ? name.slice(0, -exe.length) : name
  return join(dirname(installPath), `${stem}.backup${exe ?? ''}`)
}

/** A path with the home directory shown as `~`, for commands a human copies. */
export function tildify(path: string, home: string): string {
  if (home && (path === home || path.startsWith(home.endsWith('/') ? home : home + '/'))) return '~' + path.slice(home.replace(/\/$/, '').length)
  return path
}
