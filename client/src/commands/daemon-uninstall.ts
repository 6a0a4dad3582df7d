// `cco daemon uninstall`: removes the service definition written by `install` (and, for
// systemd, the link `systemctl enable` made) and says how to stop the running service.
import { lstatSync, readlinkSync, rmSync } from 'node:fs'
import { resolve, dirname } from 'node:path'
import type { AppContext } from '../context.ts'
import { disableCommand, serviceFilePath, systemdWantsLink, type ServiceKind } from '../system/service-units.ts'
import { serviceKindOrFail } from './daemon-install.ts'

export interface DaemonUninstallResult {
  kind: ServiceKind
  file: string
  removed: boolean
  disable_command: string
}

export function daemonUninstallCommand(app: AppContext, o: { platform?: NodeJS.Platform } = {}): DaemonUninstallResult {
  const kind = serviceKindOrFail(o.platform ?? process.platform)
  const file = serviceFilePath(kind, app.env, app.paths.home)
  const existed = lstatSync(file, { throwIfNoEntry: false }) !== undefined
  rmSync(file, { force: true })
  if (kind === 'systemd') {
    const link = systemdWantsLink(file)
    try {
      if (lstatSync(link).isSymbolicLink() && resolve(dirname(link), readlinkSync(link)) === resolve(file)) rmSync(link, { force: true })
    } catch {}
  }
  return { kind, file, removed: existed, disable_command: disableCommand(kind) }
}
