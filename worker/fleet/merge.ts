// Adding up the shards' answers, as pure functions: the fleet summary, and pages that run across
// every shard in one global order with an opaque cursor.
import { UUID_PATTERN, type FleetEventView, type FleetHost, type FleetView } from '../../contract/fleet.ts'
import { compareVersions, parseVersion } from '../../contract/version.ts'
import type { EventPosition, RolloutQuery, ShardSummary } from './types.ts'

/** The most key=value pairs `GET /v1/fleet` lists. */
export const LABELS_SHOWN = 1000

const byCount = <T extends { hosts: number }>(a: T, b: T) => b.hosts - a.hosts

/** Versions newest first by identity (text that is no version last), then channel. */
function versionOrder(a: { versionKey: string; channel: string }, b: { versionKey: string; channel: string }): number {
  const va = parseVersion(a.versionKey)
  const vb = parseVersion(b.versionKey)
  const byVersion = va && vb ? compareVersions(vb, va) : va ? -1 : vb ? 1 : a.versionKey < b.versionKey ? -1 : a.versionKey > b.versionKey ? 1 : 0
  return byVersion !== 0 ? byVersion : a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0
}

/** The fleet summary from every shard's counts; `rollouts` are the channels as the release broker has them. */
export function mergeSummaries(parts: readonly ShardSummary[], rollouts: readonly RolloutQuery[], shards: number, now: number): FleetView {
  const versions = new Map<string, { version: string; versionKey: string; channel: string; hosts: number }>()
  const platforms = new Map<string | null, number>()
  const labels = new Map<string, { key: string; value: string; hosts: number }>()
  let labelsComplete = true
  for (const p of parts) {
    for (const v of p.byVersion) {
      const id = `${v.versionKey}\n${v.channel}`
      const seen = versions.get(id)
      // One spelling per identity: the smallest text, whichever shard saw it.
      if (seen) Object.assign(seen, { hosts: seen.hosts + v.hosts, version: v.version < seen.version ? v.version : seen.version })
      else versions.set(id, { ...v })
    }
    for (const x of p.byPlatform) platforms.set(x.platform, (platforms.get(x.platform) ?? 0) + x.hosts)
    for (const l of p.byLabel) {
      const id = `${l.key}=${l.value}`
      const seen = labels.get(id)
      if (seen) seen.hosts += l.hosts
      else labels.set(id, { ...l })
    }
    labelsComplete &&= p.labelsComplete
  }
  const byLabel = [...labels.values()].sort((a, b) => byCount(a, b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
  const sum = (f: (p: ShardSummary) => number) => parts.reduce((n, p) => n + f(p), 0)
  return {
    generated_at: new Date(now).toISOString(),
    shards,
    hosts: sum((p) => p.hosts),
    stale: sum((p) => p.stale),
    by_version: [...versions.values()].sort(versionOrder).map((v) => ({ version: v.version, version_key: v.versionKey, channel: v.channel as FleetView['by_version'][number]['channel'], hosts: v.hosts })),
    by_platform: [...platforms].map(([platform, hosts]) => ({ platform: platform as FleetView['by_platform'][number]['platform'], hosts })).sort((a, b) => byCount(a, b) || String(a.platform).localeCompare(String(b.platform))),
    by_label: byLabel.slice(0, LABELS_SHOWN),
    by_label_complete: labelsComplete && byLabel.length <= LABELS_SHOWN,
    rollouts: rollouts.map((r) => {
      const of = (f: (c: ShardSummary['rollouts'][number]) => number) => sum((p) => f(p.rollouts.find((c) => c.channel === r.channel)!))
      return {
        channel: r.channel,
        version: r.version,
        percent: r.percent,
        halted: r.halted,
        on_channel: of((c) => c.onChannel),
        in_bucket: of((c) => c.inBucket),
        installed: of((c) => c.installed),
        rolled_back: of((c) => c.rolledBack),
        failed: of((c) => c.failed),
        not_seen: of((c) => c.notSeen),
        ...savings({ downloads: of((c) => c.downloads), differential: of((c) => c.differential), downloaded: of((c) => c.downloadedBytes), full: of((c) => c.fullBytes) }),
      }
    }),
  }
}

/** A rollout's download figures, added up over the shards, and what they saved against full downloads. */
export function savings(t: { downloads: number; differential: number; downloaded: number; full: number }) {
  const saved = t.full - t.downloaded
  return {
    downloads: t.downloads,
    differential: t.differential,
    downloaded_bytes: t.downloaded,
    full_bytes: t.full,
    saved_bytes: saved,
    saved_percent: t.full > 0 ? Math.round((saved / t.full) * 1000) / 10 : null,
  }
}

/**
 * Rows each shard is asked for per page: about twice its fair share of `limit` (host ids are
 * uniform over shards), so a page is almost always full while 16 shards send ~2 × limit rows,
 * not 16 × limit. Exactness does not depend on it (mergeShardPages).
 */
export function shardQuota(limit: number, shards: number): number {
  return Math.min(limit, Math.ceil((2 * limit) / shards) + 8)
}

/**
 * One page in a global order from every shard's first rows in that order, each shard having
 * been asked for `quota + 1`. A shard that returned more than `quota` may hold further rows,
 * all after its quota-th; so every row up to the smallest such quota-th row is known, and only
 * those are returned: the page is a prefix of the global order and the next one starts after
 * its last row. It may hold fewer than `limit` rows; `more` says whether anything follows.
 */
export function mergeShardPages<T>(pages: readonly (readonly T[])[], quota: number, limit: number, order: (a: T, b: T) => number): { rows: T[]; more: boolean } {
  let boundary: T | undefined
  for (const page of pages) {
    if (page.length > quota) {
      const last = page[quota - 1]!
      if (boundary === undefined || order(last, boundary) < 0) boundary = last
    }
  }
  const known = pages
    .flatMap((p) => p.slice(0, quota))
    .filter((r) => boundary === undefined || order(r, boundary) <= 0)
    .sort(order)
  return { rows: known.slice(0, limit), more: boundary !== undefined || known.length > limit }
}

export const hostOrder = (a: FleetHost, b: FleetHost) => (a.host_id < b.host_id ? -1 : a.host_id > b.host_id ? 1 : 0)

/** Newest first: time, then host id, then event id, all descending (the shards' ORDER BY). */
export function eventOrder(a: FleetEventView, b: FleetEventView): number {
  const x = eventPosition(a)
  const y = eventPosition(b)
  if (x.at !== y.at) return y.at - x.at
  if (x.hostId !== y.hostId) return x.hostId < y.hostId ? 1 : -1
  return x.id < y.id ? 1 : x.id > y.id ? -1 : 0
}

export function eventPosition(e: FleetEventView): EventPosition {
  return { at: Date.parse(e.at), hostId: e.host_id, id: e.id }
}

// Cursors are opaque to callers: base64url of a small JSON object, checked when read back.

export function hostCursor(last: FleetHost): string {
  return encodeCursor({ h: last.host_id })
}

export function eventCursor(last: FleetEventView): string {
  const p = eventPosition(last)
  return encodeCursor({ a: p.at, h: p.hostId, i: p.id })
}

/** The host id a host cursor continues after, or null when it is not one. */
export function readHostCursor(cursor: string): string | null {
  const c = decodeCursor(cursor)
  return c !== null && typeof c.h === 'string' && UUID_PATTERN.test(c.h) ? c.h : null
}

export function readEventCursor(cursor: string): EventPosition | null {
  const c = decodeCursor(cursor)
  if (c === null || !Number.isSafeInteger(c.a) || typeof c.h !== 'string' || !UUID_PATTERN.test(c.h) || typeof c.i !== 'string' || !UUID_PATTERN.test(c.i)) return null
  return { at: c.a as number, hostId: c.h, id: c.i }
}

function encodeCursor(value: Record<string, unknown>): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function decodeCursor(cursor: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) return null
  try {
    const value: unknown = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}
