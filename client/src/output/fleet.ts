// Human renderings of the release engineers' fleet views (stdout): `cco release fleet`, `… hosts`,
// `… events`. Every cell that came from the broker (versions, names, labels, error classes) is
// escaped by table() before it is measured and printed (terminal-text.ts). `--json` prints the
// broker's answers instead.
import { compareVersions, parseVersion } from '../../../contract/version.ts'
import type { ReleaseFleetEventsResult, ReleaseFleetHostsResult, ReleaseFleetResult } from '../commands/release-fleet.ts'
import { formatUtc } from '../system/clock.ts'
import { table } from './release.ts'

type FleetView = ReleaseFleetResult['view']
type Host = ReleaseFleetHostsResult['hosts'][number]

const time = (iso: string | null | undefined) => {
  if (!iso) return '-'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : formatUtc(d)
}

/** Newest version first; text that is not a version after the versions. */
function byVersionDesc(a: string, b: string): number {
  const va = parseVersion(a)
  const vb = parseVersion(b)
  if (va && vb) return compareVersions(vb, va)
  if (va || vb) return va ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

function rolloutRows(view: FleetView): string[] {
  if (view.rollouts.length === 0) return []
  return [
    '',
    'Rollout progress (hosts reporting on each channel):',
    ...table(
      ['CHANNEL', 'VERSION', 'ROLLOUT', 'HALTED', 'ON CHANNEL', 'IN BUCKET', 'INSTALLED', 'FAILED', 'ROLLED BACK', 'NOT YET SEEN'],
      view.rollouts.map((r) => [
        r.channel,
        r.version ?? '(none)',
        `${r.percent}%`,
        r.halted ? 'yes' : 'no',
        String(r.on_channel),
        String(r.in_bucket),
        String(r.installed),
        String(r.failed),
        String(r.rolled_back),
        String(r.not_seen),
      ]),
    ),
  ]
}

/** `0.9 MiB`: binary units, one decimal from KiB up. */
export function byteSize(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  if (Math.abs(n) < 1024) return `${n} B`
  let value = n / 1024
  let unit = 0
  // 1023.96 KiB would print as 1024.0 KiB: such a value is shown in the next unit.
  while (Math.abs(value) >= 1023.95 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/**
 * What each rollout's installs downloaded against full archives (schema 2 reports), one line per
 * rollout that has any; nothing from a broker that sends no such figures.
 */
function downloadLines(view: FleetView): string[] {
  const lines: string[] = []
  for (const r of view.rollouts) {
    const { downloads, differential, downloaded_bytes: got, full_bytes: full, saved_bytes: saved } = r
    if (r.version === null || !downloads || differential === undefined || got === undefined || full === undefined || saved === undefined) continue
    const share = Math.round((differential / downloads) * 100)
    const verdict = saved >= 0 ? `saved ${byteSize(saved)}` : `cost ${byteSize(-saved)} more`
    lines.push(
      `→ ${r.channel} ${r.version}: downloaded ${byteSize(Math.round(got / downloads))} of ${byteSize(Math.round(full / downloads))} per host (${plural(downloads, 'host')}, differential ${share} %, ${verdict})`,
    )
  }
  return lines.length ? ['', ...lines] : []
}

/** Channels whose hosts run more than one version ("Inconsistent Versions"), with the command that lists the stragglers. */
function mixedVersions(view: FleetView): string[] {
  const lines: string[] = []
  const channels = [...new Set(view.by_version.map((v) => v.channel))].sort()
  for (const channel of channels) {
    const rows = view.by_version.filter((v) => v.channel === channel).sort((a, b) => b.hosts - a.hosts || byVersionDesc(a.version, b.version))
    if (rows.length < 2) continue
    const fewest = rows[rows.length - 1]!
    lines.push(`→ ${channel} hosts run ${rows.length} versions: ${rows.map((r) => `${r.version} (${r.hosts})`).join(', ')}; list them with cco release fleet hosts --channel ${channel} --version ${fewest.version}`)
  }
  return lines
}

export function formatFleet(r: ReleaseFleetResult): string[] {
  const v = r.view
  const head = [`Broker: ${r.server}`, `Hosts: ${plural(v.hosts, 'host')} reporting, ${v.stale} stale (not seen within twice their check interval)`]
  if (v.hosts === 0) return [...head, '', '(no host has reported yet: hosts report once fleet.report = true and a fleet token are set on them)', ...rolloutRows(v)]
  const versions = [...v.by_version].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : byVersionDesc(a.version, b.version)))
  const platforms = [...v.by_platform].sort((a, b) => b.hosts - a.hosts)
  const lines = [
    ...head,
    '',
    ...table(['VERSION', 'CHANNEL', 'HOSTS'], versions.map((x) => [x.version, x.channel, String(x.hosts)])),
    '',
    ...table(['PLATFORM', 'HOSTS'], platforms.map((p) => [p.platform ?? '(unknown)', String(p.hosts)])),
    ...rolloutRows(v),
    ...downloadLines(v),
  ]
  if (v.by_label.length) {
    lines.push('', ...table(['LABEL', 'HOSTS'], v.by_label.map((l) => [`${l.key}=${l.value}`, String(l.hosts)])))
    if (!v.by_label_complete) lines.push('(only the most common labels are listed)')
  }
  if (v.stale > 0) {
    lines.push('', 'Stale hosts:', ...table(['HOST', 'NAME', 'VERSION', 'CHANNEL', 'LAST SEEN'], r.staleHosts.map((h) => [h.host_id, h.name ?? '-', h.version, h.channel, time(h.last_seen_at)])))
    if (v.stale > r.staleHosts.length) lines.push(`(${r.staleHosts.length} of ${v.stale} shown: cco release fleet hosts --stale)`)
  }
  const mixed = mixedVersions(v)
  if (mixed.length) lines.push('', ...mixed)
  return lines
}

function problems(h: Host): string {
  const out: string[] = []
  if (h.failed_install) out.push(`install of ${h.failed_install.version} failed ${time(h.failed_install.at)}`)
  if (h.rolled_back) out.push(`rolled back from ${h.rolled_back.from} ${time(h.rolled_back.at)}`)
  return out.join('; ') || '-'
}

export function formatFleetHosts(r: ReleaseFleetHostsResult): string[] {
  if (r.hosts.length === 0) return ['(no host matches)']
  const lines = table(
    ['HOST', 'NAME', 'VERSION', 'CHANNEL', 'PLATFORM', 'LAST SEEN', 'LAST EVENT', 'LABELS', 'PROBLEMS'],
    r.hosts.map((h) => [
      h.host_id,
      h.name ?? '-',
      h.version,
      h.channel,
      h.platform ?? '(unknown)',
      `${time(h.last_seen_at)}${h.stale ? ' (stale)' : ''}`,
      h.last_event ? `${h.last_event.kind} ${h.last_event.outcome}` : '-',
      Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
      problems(h),
    ]),
  )
  lines.push(r.more ? `(first ${r.hosts.length} hosts shown; --limit N for more)` : `(${plural(r.hosts.length, 'host')})`)
  return lines
}

export function formatFleetEvents(r: ReleaseFleetEventsResult): string[] {
  if (r.events.length === 0) return ['(no events)']
  const lines = table(
    ['WHEN', 'HOST', 'KIND', 'OUTCOME', 'FROM', 'TO', 'ERROR'],
    r.events.map((e) => [
      time(e.at),
      e.host_id,
      e.kind,
      e.outcome,
      e.from ?? '-',
      e.to ?? '-',
      e.error_class ? `${e.error_class}${e.exit_code !== null ? ` (exit ${e.exit_code})` : ''}` : e.exit_code !== null ? `exit ${e.exit_code}` : '-',
    ]),
  )
  if (r.more) lines.push(`(newest ${r.events.length} events shown; --limit N or --since for more)`)
  return lines
}
