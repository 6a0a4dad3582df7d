// Service definitions that keep the daemon running: a systemd user unit on Linux, a launchd
// agent on macOS. The text is a pure function of the paths, and the kind is chosen from a
// platform passed in (not read here), so that tests on Linux can check both files.
import { isAbsolute, join } from 'node:path'
import { envValue, type Env } from './env.ts'

export type ServiceKind = 'systemd' | 'launchd'

export const SYSTEMD_UNIT_NAME = 'cco.service'
export const LAUNCHD_LABEL = 'dev.cco.daemon'

/** The service manager of a `process.platform` value, or null where cco has none. */
export function serviceKindFor(platform: NodeJS.Platform): ServiceKind | null {
  if (platform === 'linux') return 'systemd'
  if (platform === 'darwin') return 'launchd'
  return null
}

/** `~/.config/systemd/user/cco.service` (XDG_CONFIG_HOME when absolute) or the LaunchAgents plist. */
export function serviceFilePath(kind: ServiceKind, env: Env, home: string): string {
  if (kind === 'launchd') return join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`)
  const xdg = envValue(env, 'XDG_CONFIG_HOME')
  const configHome = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config')
  return join(configHome, 'systemd', 'user', SYSTEMD_UNIT_NAME)
}

/** systemd.syntax: quote a word with spaces or quotes; `%` is a specifier and is doubled. */
function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%')
  if (!/[\s"'\\]/.test(escaped)) return escaped
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`
}

export interface UnitOptions {
  /** The binary `cco update` replaces: what the manager starts after every update. */
  binary: string
  logFile: string
  host: string
  port: number
}

export function systemdUnit(o: UnitOptions): string {
  return [
    '[Unit]',
    `Description=cco daemon (scheduled update checks, /health on ${o.host}:${o.port})`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${systemdWord(o.binary)} run`,
    // After an update the daemon exits so that systemd starts the new binary; the health
    // watchdog it leaves behind must survive that restart, hence KillMode=process.
    'Restart=always',
    'RestartSec=5',
    'Environment=CCO_SUPERVISED=systemd',
    'KillMode=process',
    'TimeoutStopSec=15',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n')
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export function launchdPlist(o: UnitOptions): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    `    <string>${xml(o.binary)}</string>`,
    '    <string>run</string>',
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <true/>',
    '  <key>ThrottleInterval</key>',
    '  <integer>5</integer>',
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    '    <key>CCO_SUPERVISED</key>',
    '    <string>launchd</string>',
    '  </dict>',
    '  <key>StandardOutPath</key>',
    `  <string>${xml(o.logFile)}</string>`,
    '  <key>StandardErrorPath</key>',
    `  <string>${xml(o.logFile)}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n')
}

export function serviceFileText(kind: ServiceKind, o: UnitOptions): string {
  return kind === 'systemd' ? systemdUnit(o) : launchdPlist(o)
}

/** What a human runs to turn the service on after `cco daemon install`. */
export function enableCommand(kind: ServiceKind, file: string): string {
  return kind === 'systemd'
    ? `systemctl --user daemon-reload && systemctl --user enable --now ${SYSTEMD_UNIT_NAME}`
    : `launchctl bootstrap gui/$(id -u) ${file}`
}

/** What a human runs to stop the service after `cco daemon uninstall` removed its file. */
export function disableCommand(kind: ServiceKind): string {
  return kind === 'systemd'
    ? `systemctl --user stop ${SYSTEMD_UNIT_NAME}; systemctl --user daemon-reload`
    : `launchctl bootout gui/$(id -u)/${LAUNCHD_LABEL}`
}

/** The link `systemctl enable` made; `uninstall` removes it with the unit (what `disable` does). */
export function systemdWantsLink(unitFile: string): string {
  return join(unitFile, '..', 'default.target.wants', SYSTEMD_UNIT_NAME)
}
