// Human renderings of command results (stdout). `--json` prints the results themselves.
// The lines are escaped when printed (terminal-text.ts printLines), each on its own.
import { sameVersion } from '../../../contract/version.ts'
import type { ConfigView } from '../commands/config-show.ts'
import type { FleetReportResult } from '../commands/fleet-report.ts'
import type { UpdateEvent } from '../commands/update.ts'
import type { VersionInfo } from '../commands/version.ts'
import { formatClock, formatDayTime } from '../config/window.ts'
import { formatUtc } from '../system/clock.ts'
import type { RollbackResult } from '../update/rollback.ts'
import type { Transfer } from '../update/transfer.ts'
import { notesText, type OutputLine } from './terminal-text.ts'

/** `41.7 MiB`, `152 KiB` (update/differential.ts has the same rule; this file loads for every command, that one only with an update). */
const formatBytes = (bytes: number) => (bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`)

const when = (iso: string | null) => (iso ? formatUtc(new Date(iso)) : 'Never')

export function formatVersion(v: VersionInfo): string[] {
  return [
    `CCO version ${v.version}`,
    `Channel: ${v.channel ?? '(config unreadable)'}`,
    `Server: ${v.server ?? '(config unreadable)'}`,
    `Platform: ${v.platform}`,
    `Build: ${v.build}`,
    `Install path: ${v.install_path}`,
    ...(v.managed_by === null ? [] : [`Updates: managed by a package manager; upgrade with: ${v.managed_by}`]),
  ]
}

export function formatConfig(c: ConfigView): string[] {
  const env = c.network.environment
  const proxy = c.network.proxy
    ? `${c.network.proxy} (config)`
    : env.http_proxy || env.https_proxy
      ? `from environment (HTTP_PROXY=${env.http_proxy ?? ''} HTTPS_PROXY=${env.https_proxy ?? ''})`
      : 'none'
  const noProxy = c.network.no_proxy !== null ? `${c.network.no_proxy} (config)` : env.no_proxy ? `${env.no_proxy} (environment)` : 'none'
  return [
    'Update Configuration:',
    `  Enabled: ${c.updates.enabled}`,
    `  Auto-install: ${c.updates.auto_install}`,
    `  Check interval: ${c.updates.check_interval}`,
    `  Channel: ${c.updates.channel}`,
    `  Last check: ${when(c.updates.last_check)}`,
    `  Last update: ${when(c.updates.last_update)}`,
    `  Server: ${c.updates.server}`,
    `  Maintenance window: ${c.updates.window.length ? c.updates.window.join('; ') : 'none (the daemon installs right after a check)'}`,
    '',
    'Daemon Configuration:',
    `  Host: ${c.daemon.host}`,
    `  Port: ${c.daemon.port}`,
    '',
    'Network:',
    `  Proxy: ${proxy}`,
    `  No proxy: ${noProxy}`,
    `  CA file: ${c.network.ca_file ?? 'system default'}`,
    '',
    'Trust:',
    `  Pinned keys: ${c.trust.keys.length ? c.trust.keys.map((k) => `${k.kid} (${k.source})`).join(', ') : 'none (updates will be refused until a key is pinned)'}`,
    '',
    'Fleet Reports:',
    `  Report: ${c.fleet.report}`,
    `  Token: ${c.fleet.token === 'environment' ? 'set (CCO_FLEET_TOKEN)' : c.fleet.token === 'config' ? 'set (config file)' : 'not set'}`,
    `  Name: ${c.fleet.name ?? 'none'}`,
    `  Labels: ${Object.keys(c.fleet.labels).length ? Object.entries(c.fleet.labels).map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}`,
    '',
    `Config file: ${c.path}${c.exists ? '' : ' (not created yet; defaults apply)'}`,
  ]
}

export function formatUpdateEvent(e: UpdateEvent): OutputLine[] {
  switch (e.type) {
    case 'checking':
      return ['→ Checking for updates...']
    case 'versions':
      return [`→ Current version: ${e.current}`, `→ Latest version: ${e.latest ?? `none (channel ${e.channel} has no release yet)`}`]
    case 'up-to-date':
      return e.decision.why === 'up-to-date' || e.decision.why === 'no-release'
        ? ['✅ You are running the latest version']
        : [`→ ${e.decision.detail}`, '✅ You are running the latest version available to this host']
    case 'available':
      return [
        ...(e.yanked ? [`⚠️  Your version ${e.yanked.version} was withdrawn: ${e.yanked.reason}`] : []),
        `ℹ️  New version available: ${e.version}`,
      ]
    case 'no-asset':
      return [`⚠️  ${e.detail}`]
    case 'notes': {
      // The notes keep their line breaks and tabs; everything else in them is made visible.
      const lines: OutputLine[] = e.notes.trim() ? ['', 'Release notes:', notesText(e.notes.trim(), '  ')] : []
      if (e.url) lines.push(`  (${e.url})`)
      lines.push('')
      return lines
    }
    case 'downloading':
      return [`→ Downloading ${e.name} (${formatBytes(e.size)})...`]
    case 'declined':
      return ['→ Update cancelled']
    case 'changed': {
      if (e.now.kind === 'none' && sameVersion(e.current, e.confirmed)) return [`✅ ${e.current} was installed by another update while you were asked; nothing to do`]
      const what = e.now.kind === 'install' && sameVersion(e.now.version, e.confirmed) ? `${e.confirmed} was republished` : e.now.detail
      return [`⚠️  Not installing ${e.confirmed}: the release changed while you were asked (${what}); run \`cco update\` again`]
    }
    case 'window':
      if (e.installing) return [`ℹ️  Outside the maintenance window ${e.window} (next: ${formatDayTime(e.nextOpening)}): installing now as asked; only the daemon waits for it`]
      if (e.openUntil !== null) return [`ℹ️  Maintenance window open now: ${e.window}, until ${formatClock(e.openUntil)}`]
      return [`ℹ️  Next maintenance window: ${formatDayTime(e.nextOpening)}`]
    case 'installed':
      return [
        `✅ Successfully updated to ${e.result.version}`,
        downloadedLine(e.result.transfer),
        ...(e.result.backupPath ? [`→ Previous version kept as ${e.result.backupPath} (cco rollback restores it)`] : []),
      ]
    case 'pin-versions':
      return [`→ Current version: ${e.current}`, `→ Requested version: ${e.requested}${e.direction === 'downgrade' ? ' (older: a downgrade, as --allow-downgrade allows)' : ''}`]
    case 'pin-same':
      return [`✅ Already running ${e.version}`]
    case 'pin-available':
      return [`ℹ️  ${e.version} can be installed: cco update --version ${e.version}`]
    case 'pin-after':
      // A pin is an install, not a hold: say what the daemon will do with it.
      if (e.next === null) return [`ℹ️  The daemon keeps ${e.version} until channel ${e.channel} offers this host a newer release`]
      if (e.autoInstall) return [`ℹ️  The daemon will move this host to ${e.next} (channel ${e.channel}) at its next check; to stay on ${e.version}: cco config set updates.auto_install false`]
      return [`ℹ️  Channel ${e.channel} offers ${e.next}; the daemon will not install it (updates.auto_install is off), cco update will`]
  }
}

/** `→ Downloaded 0.9 MiB of 41.7 MiB (differential)`, or the archive's size. */
function downloadedLine(t: Transfer): string {
  return t.differential
    ? `→ Downloaded ${formatBytes(t.bytes)} of ${formatBytes(t.archiveBytes)} (differential)`
    : `→ Downloaded ${formatBytes(t.bytes)} (full archive${t.bytes > t.archiveBytes ? ', after a differential attempt' : ''})`
}

export function formatRollback(r: RollbackResult): string[] {
  return [
    `✅ Rolled back to version ${r.version}`,
    ...(r.backupPath ? [`→ Version ${r.previousVersion ?? '(unknown)'} kept as ${r.backupPath} (cco rollback again to return to it)`] : []),
  ]
}

export function formatFleetReport(r: FleetReportResult): string[] {
  // The bodies exactly as they would be posted, one per line.
  if (r.dry_run) return r.texts
  if (r.sent === 0 && r.dropped === 0) return ['→ Nothing to send: the fleet report queue is empty']
  const lines = [`✅ Sent ${r.sent} event(s) to ${r.server}: ${r.accepted} new, ${r.duplicates} already known`]
  if (r.dropped) lines.push(`⚠️  ${r.dropped} event(s) that the broker will never accept were dropped`)
  if (r.pending) lines.push(`→ ${r.pending} event(s) still queued`)
  return lines
}
