// Human lines for the daemon commands (the --json forms print the data as it is).
import type { DaemonInstallResult } from '../commands/daemon-install.ts'
import type { DaemonStartResult } from '../commands/daemon-start.ts'
import type { DaemonStatus } from '../commands/daemon-status.ts'
import type { DaemonStopResult } from '../commands/daemon-stop.ts'
import type { DaemonUninstallResult } from '../commands/daemon-uninstall.ts'
import type { HealthResult } from '../commands/health.ts'
import { formatDuration } from '../daemon/scheduler.ts'
import { formatUtc } from '../system/clock.ts'
import type { HealthBody } from '../system/health-probe.ts'

/** RFC 3339 from the daemon as `config show` shows times (`2025-11-17 14:32:15 UTC`); anything else as it came. */
function when(iso: string | null | undefined): string {
  if (!iso) return 'Never'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : formatUtc(d)
}

/** What a "degraded" answer says: how many checks failed, since when, the last error. */
function degradedWhy(h: HealthBody): string {
  const count = typeof h.failed_checks === 'number' ? `${h.failed_checks} update checks failed in a row` : 'update checks keep failing'
  return `${count}${h.failing_since ? ` since ${when(h.failing_since)}` : ''}${h.last_error ? `; last error: ${h.last_error}` : ''}`
}

function healthLine(s: DaemonStatus): string {
  if (s.healthy) return 'ok'
  if (s.health) return `${s.health.status} (${degradedWhy(s.health)})`
  return `not ok (${s.problem})`
}

/** `cco health`: the verdict, then the daemon's JSON line as it was sent. */
export function formatHealth(r: HealthResult): string[] {
  return [r.healthy ? '✅ healthy' : `⚠️  ${r.status}: ${degradedWhy(r.health)}`, r.raw]
}

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
    `Health: ${healthLine(s)}`,
  ]
  if (s.health) {
    lines.push(`Last check: ${when(s.health.last_check)}`)
    lines.push(`Update available: ${s.health.update_available ? `yes${s.health.latest_version ? ` (${s.health.latest_version})` : ''}` : 'no'}`)
    if (s.health.next_install_at) lines.push(`Next install: ${when(s.health.next_install_at)}`)
  }
  if (s.started_at) lines.push(`Started: ${when(s.started_at)}`)
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
