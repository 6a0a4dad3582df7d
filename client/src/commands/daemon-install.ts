// `cco daemon install`: writes the service definition that keeps the daemon running (systemd
// user unit on Linux, launchd agent on macOS) for the binary at the install path, and says how
// to enable it. The platform is a parameter so that each writer can be tested anywhere.
import { existsSync, readFileSync } from 'node:fs'
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { CliError, ExitCode } from '../errors.ts'
import { writeFileAtomic } from '../system/fs-atomic.ts'
import { enableCommand, serviceFilePath, serviceFileText, serviceKindFor, type ServiceKind } from '../system/service-units.ts'

export interface DaemonInstallResult {
  kind: ServiceKind
  file: string
  binary: string
  /** An existing file was replaced (its content differed). */
  replaced: boolean
  enable_command: string
  warnings: string[]
}

export function serviceKindOrFail(platform: NodeJS.Platform): ServiceKind {
  const kind = serviceKindFor(platform)
  if (!kind) {
    throw new CliError(`cco daemon install supports systemd (Linux) and launchd (macOS), not ${platform}; run \`cco run\` from your system's service manager instead`, ExitCode.failure)
  }
  return kind
}

export function daemonInstallCommand(app: AppContext, o: { platform?: NodeJS.Platform } = {}): DaemonInstallResult {
  const kind = serviceKindOrFail(o.platform ?? process.platform)
  const { config } = loadConfig(app.paths.configFile)
  const binary = app.paths.installPath
  const file = serviceFilePath(kind, app.env, app.paths.home)
  const text = serviceFileText(kind, { binary, logFile: app.paths.daemonLog, host: config.daemon.host, port: config.daemon.port })
  const before = existsSync(file) ? readFileSync(file, 'utf8') : null
  writeFileAtomic(file, text)
  const warnings: string[] = []
  if (!existsSync(binary)) warnings.push(`${binary} does not exist yet: the service starts the binary installed there`)
  return { kind, file, binary, replaced: before !== null && before !== text, enable_command: enableCommand(kind, file), warnings }
}
