// Human renderings of `cco release …` results (stdout): aligned tables and one-line outcomes.
// `--json` prints the broker's answers instead.
import type { AcceptedAnswer } from '../../../contract/api.ts'
import type { ReleaseAuditResult } from '../commands/release-audit.ts'
import type { ChannelChangeResult } from '../commands/release-promote.ts'
import type { ReleaseStatus } from '../commands/release-status.ts'
import type { ReleaseYankResult } from '../commands/release-yank.ts'
import { formatUtc } from '../system/clock.ts'
import { safeText } from './terminal-text.ts'

/**
 * Columns padded to their widest cell, two spaces apart; no trailing blanks. The cells (broker
 * text) are escaped before they are measured, so that the columns stay aligned when printed.
 */
export function table(header: string[], cells: string[][]): string[] {
  const rows = cells.map((r) => r.map(safeText))
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)]
}

const time = (iso: string | null | undefined) => {
  if (!iso) return '-'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : formatUtc(d)
}

type ChannelView = AcceptedAnswer<'ChannelSummary'>

const halted = (c: ChannelView) => (c.rollout.halted ? `yes${c.rollout.halted_by ? ` (by ${c.rollout.halted_by})` : ''}${c.rollout.reason ? `: ${c.rollout.reason}` : ''}` : 'no')

/** `ramp 1 → 10 → 50 → 100%, at 10%; next 50% at 2026-11-20 16:00 UTC` (or why it waits). */
function rampLine(c: ChannelView): string | null {
  const r = c.ramp
  if (!r) return null
  const at = r.steps[r.step]
  const next = r.waiting ? `waiting for ${r.next_percent}%: ${r.waiting} (looks again at ${time(r.next_at)})` : `next ${r.next_percent}% at ${time(r.next_at)}`
  return `${c.channel}: ramp ${r.steps.join(' → ')}%, every ${span(r.every_s)}, at ${at ?? '?'}%; ${next}`
}

/** `stable: failure guard halts at ≥ 3 failed hosts and ≥ 5 % of those that attempted the version`. */
function guardLine(c: ChannelView): string | null {
  if (!c.guard) return null
  return `${c.channel}: failure guard halts at ≥ ${c.guard.min_failures} failed hosts and ≥ ${c.guard.min_failure_percent} % of those that attempted the version`
}

function span(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400}d`
  if (s % 3600 === 0) return `${s / 3600}h`
  if (s % 60 === 0) return `${s / 60}m`
  return `${s}s`
}

export function formatStatus(s: ReleaseStatus): string[] {
  const channels = table(
    ['CHANNEL', 'VERSION', 'SEQ', 'ROLLOUT', 'EXPIRES', 'HALTED'],
    s.channels.map((c) => [c.channel, c.version ?? '(none)', String(c.seq), `${c.rollout.percent}%`, time(c.expires_at), halted(c)]),
  )
  const extra = s.channels.flatMap((c) => [rampLine(c), guardLine(c)]).filter((l): l is string => l !== null).map(safeText)
  if (extra.length > 0) channels.push('', ...extra)
  const shown = s.releases.slice(0, s.shown)
  const releases = shown.length
    ? table(
        ['RELEASE', 'STATUS', 'CHANNELS', 'PUBLISHED', 'YANKED'],
        shown.map((r) => [
          r.version,
          r.status,
          r.channels.length ? r.channels.join(',') : '-',
          time(r.published_at),
          r.yanked ? `yes: ${r.yanked.reason}` : '-',
        ]),
      )
    : ['(no releases yet)']
  const more = s.releases.length > s.shown ? [`(${s.shown} of ${s.releases.length} releases shown; --releases N for more, --json for all)`] : []
  return [`Broker: ${s.server}`, '', ...channels, '', ...releases, ...more]
}

/** `stable: 2026.11.3, rollout 25%, halted (reason), seq 16`. */
export function channelLine(c: ChannelView): string {
  const state = c.rollout.halted ? `halted${c.rollout.reason ? ` (${c.rollout.reason})` : ''}` : 'not halted'
  return `${c.channel}: ${c.version ?? '(no release)'}, rollout ${c.rollout.percent}%, ${state}, seq ${c.seq}`
}

export function formatChannelChange(r: ChannelChangeResult): string[] {
  const c = r.change
  // An answer without `changed` (it is optional for clients) is taken as a change.
  const changed = c.changed !== false
  const done = {
    promote: `Promoted ${c.version} to ${c.channel} at ${c.rollout.percent}%`,
    rollout: `Rollout of ${c.version} on ${c.channel} set to ${c.rollout.percent}%`,
    halt: `Halted the rollout of ${c.version} on ${c.channel}: hosts will not install it until it is resumed`,
    resume: `Resumed the rollout of ${c.version} on ${c.channel} at ${c.rollout.percent}%`,
    guard: `Set the failure guard of ${c.channel}`,
  }[r.action]
  const same = {
    promote: `${c.channel} already points at ${c.version} at ${c.rollout.percent}%`,
    rollout: `the rollout on ${c.channel} is already ${c.rollout.percent}%`,
    halt: `${c.channel} is already halted`,
    resume: `${c.channel} is not halted`,
    guard: `the failure guard of ${c.channel} is already so`,
  }[r.action]
  const more = [rampLine(c), r.action === 'guard' ? guardLine(c) : null].filter((l): l is string => l !== null).map((l) => `→ ${safeText(l)}`)
  return [changed ? `✅ ${done}` : `→ Nothing changed: ${same}`, `→ ${channelLine(c)}`, ...more]
}

export function formatYank(r: ReleaseYankResult): string[] {
  const resigned = Object.entries(r.change.channels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([channel, seq]) => `${channel} (seq ${seq})`)
  const lines =
    r.action === 'yank'
      ? [
          `✅ Yanked ${r.version}${r.change.release.yanked ? `: ${r.change.release.yanked.reason}` : ''}`,
          `→ Hosts running ${r.version} move to their channel's version on their next check, even if it is lower`,
        ]
      : [`✅ Unyanked ${r.version}`, '→ beta may point at it again; stable moves back only by promotion']
  lines.push(`→ Re-signed: ${resigned.length ? resigned.join(', ') : 'no channel (nothing changed)'}`)
  const on = r.change.release.channels
  lines.push(`→ ${r.version} is now on: ${on.length ? on.join(', ') : 'no channel'}`)
  return lines
}

const DETAIL_MAX = 100

/** An audit entry's detail as `key=value` pairs (nested values as JSON), cut for the table. */
export function auditDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return ''
  const text =
    typeof detail !== 'object' || Array.isArray(detail)
      ? JSON.stringify(detail)
      : Object.entries(detail as Record<string, unknown>)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
  // Cut by code points: half an emoji would be printed as a lone surrogate (`\ud83d`).
  const points = [...text]
  return points.length > DETAIL_MAX ? `${points.slice(0, DETAIL_MAX - 1).join('')}…` : text
}

export function formatAudit(r: ReleaseAuditResult): string[] {
  const { entries, next_before } = r.page
  if (!entries.length) return ['(no audit entries)']
  const lines = table(
    ['ID', 'WHEN', 'ACTOR', 'ACTION', 'TARGET', 'DETAIL'],
    entries.map((e) => [String(e.id), time(e.at), e.actor, e.action, e.target ?? '-', auditDetail(e.detail) || (e.delivery ? `delivery=${e.delivery}` : '')]),
  )
  if (next_before !== null && next_before !== undefined) lines.push(`(older entries: cco release audit --before ${next_before})`)
  return lines
}
