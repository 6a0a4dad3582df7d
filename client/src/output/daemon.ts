// Human lines for the daemon commands (the --json forms print the data as it is).
import type { DaemonInstallResult } from '../commands/daemon-install.ts'
import type { DaemonStartResult } from '../commands/daemon-start.ts'
import type { DaemonStatus } from '../commands/daemon-status.ts'
import type { DaemonStopResult } from '../commands/daemon-stop.ts'
import type { DaemonUninstallResult } from '../commands/daemon-uninstall.ts'
import { formatDuration } from '../daemon/scheduler.ts'

export function formatStarted(r: DaemonStartResult): string[] {
  return [`✅ cco daemon started (pid ${r.pid}, port ${r.port})`]
}

export function formatStopped(r: DaemonStopResult): string[] {
  if (!r.was_running) return ['cco daemon is not running']
  if (r.how === 'killed') return [`Stopped cco daemon (pid ${r.pid}) with SIGKILL: it did not exit within 10 s of SIGTERM`]
  return [`Stopped cco daemon (pid ${r.pid})`]
}

export function formatStatus(s: DaemonStatus): string[] {
  if (!s.running) return ['Running: false']
  const lines = [
    'Running: true',
    `PID: ${s.pid}`,
    `Port: ${s.port}`,
    `Version: ${s.version}`,
    `Uptime: ${s.uptime_seconds === null ? 'unknown' : formatDuration(s.uptime_seconds * 1000)}`,
    `Host: ${s.host}`,
    `Health: ${s.healthy ? 'ok' : `not ok (${s.problem})`}`,
  ]
  if (s.health) {
    lines.push(`Last check: ${s.health.last_check ?? 'Never'}`)
    lines.push(`Update available: ${s.health.update_available ? `yes${s.health.latest_version ? ` (${s.health.latest_version})` : ''}` : 'no'}`)
  }
  if (s.supervisor) lines.push(`Supervised by: ${s.supervisor}`)
  lines.push(`Log: ${s.log}`)
  return lines
}

export function formatInstalled(r: DaemonInstallResult): string[] {
  return [
    `${r.replaced ? 'Replaced' : 'Wrote'} ${r.file} (${r.kind === 'systemd' ? 'systemd user unit' : 'launchd agent'} running \`${r.binary} run\`)`,
    'Enable and start it with:',
    `  ${r.enable_command}`,
  ]
}

export function formatUninstalled(r: DaemonUninstallResult): string[] {
  return [r.removed ? `Removed ${r.file}` : `Nothing to remove: ${r.file} does not exist`, 'Stop a service that is still running with:', `  ${r.disable_command}`]
}
