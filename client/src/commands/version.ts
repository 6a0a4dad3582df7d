// `cco version`: the version first (scripts take `head -1 | awk '{print $3}'`), then the
// channel, broker and platform. A broken config does not stop it from answering.
import { BUILD } from '../build-info.ts'
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { messageOf } from '../errors.ts'
import { managedUpgradeCommand } from '../update/managed.ts'

export interface VersionInfo {
  version: string
  channel: string | null
  server: string | null
  platform: string
  build: string
  install_path: string
  /** The package manager's upgrade command of a package-managed build (which never replaces itself), else null. */
  managed_by: string | null
  config_error: string | null
}

export function versionCommand(app: AppContext): VersionInfo {
  let channel: string | null = null
  let server: string | null = null
  let configError: string | null = null
  try {
    const { config } = loadConfig(app.paths.configFile)
    channel = config.updates.channel
    server = config.updates.server
  } catch (err) {
    configError = messageOf(err)
  }
  return {
    version: app.version,
    channel,
    server,
    platform: app.platform ?? `${process.platform}-${process.arch} (unsupported)`,
    build: BUILD,
    install_path: app.paths.installPath,
    managed_by: managedUpgradeCommand(),
    config_error: configError,
  }
}
