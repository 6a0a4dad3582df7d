// `cco release fleet`, `… fleet hosts`, `… fleet events`: what the hosts that opted into fleet
// reports say about themselves (client/README.md, "Fleet view"), read from the broker's fleet
// views with the admin token. `hosts` and `events` follow the broker's cursor until the limit.
import type { AppContext } from '../context.ts'
import type { AdminApi, Answer, FleetAnswer, FleetEventQuery, FleetHostQuery } from '../release/admin-api.ts'
import { checkedHostId, checkedLabelFilter, checkedSince, checkedVersionFilter, parseCount } from '../release/arguments.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'
import { DEFAULT_EVENTS_LIMIT, DEFAULT_HOSTS_LIMIT } from './option-defaults.ts'

/** The broker's largest page (its `limit` is at most 500). */
export const FLEET_PAGE_MAX = 500
/** Stale hosts listed under the summary. */
export const STALE_HOSTS_SHOWN = 10

type FleetHost = FleetAnswer<'FleetHost'>
type FleetEventView = FleetAnswer<'FleetEventView'>

export interface ReleaseFleetResult {
  server: string
  view: FleetAnswer<'FleetView'>
  /** The first stale hosts (by host id); `view.stale` says how many there are. */
  staleHosts: FleetHost[]
  /** The broker's answers: the summary, with the stale hosts listed under `stale_hosts`. */
  json: unknown
}

export async function releaseFleetCommand(app: AppContext, options: ReleaseConnectionOptions): Promise<ReleaseFleetResult> {
  return withAdminApi(app, options, async (api) => {
    const [view, stale] = await Promise.all([api.fleet(), api.fleetHosts({ stale: true, limit: STALE_HOSTS_SHOWN })])
    return {
      server: api.server,
      view: view.data,
      staleHosts: stale.data.hosts,
      json: { server: api.server, ...(view.raw as object), stale_hosts: (stale.raw as { hosts?: unknown }).hosts ?? [] },
    }
  })
}

interface Page<T> {
  items: T[]
  raw: unknown[]
  next_cursor: string | null
}

/**
 * Up to `limit` items over as many pages as it takes: each request asks for what is still
 * missing (at most a full page), so the last cursor is exactly where the listing stopped.
 */
async function follow<T>(limit: number, fetchPage: (limit: number, cursor: string | undefined) => Promise<Page<T>>): Promise<{ items: T[]; raw: unknown[]; next_cursor: string | null }> {
  const items: T[] = []
  const raw: unknown[] = []
  let cursor: string | undefined
  const seen = new Set<string>()
  for (;;) {
    const page = await fetchPage(Math.min(FLEET_PAGE_MAX, limit - items.length), cursor)
    items.push(...page.items)
    raw.push(...page.raw)
    const next = page.next_cursor
    // A broker that hands back a cursor it gave before (or an empty page with one) would loop.
    if (next === null || items.length >= limit || page.items.length === 0 || seen.has(next)) return { items, raw, next_cursor: next }
    seen.add(next)
    cursor = next
  }
}

const rawList = (a: Answer<unknown>, key: string): unknown[] => {
  const list = (a.raw as Record<string, unknown> | null)?.[key]
  return Array.isArray(list) ? list : []
}

export interface ReleaseFleetHostsOptions extends ReleaseConnectionOptions {
  version?: string
  channel?: string
  label?: string
  stale?: boolean
  outcome?: string
  limit?: string
}

export interface ReleaseFleetHostsResult {
  hosts: FleetHost[]
  limit: number
  /** More hosts match than the limit allowed. */
  more: boolean
  filters: Omit<FleetHostQuery, 'limit' | 'cursor'>
  json: { hosts: unknown[]; next_cursor: string | null }
}

export function hostFilters(o: ReleaseFleetHostsOptions): Omit<FleetHostQuery, 'limit' | 'cursor'> {
  return {
    ...(o.version !== undefined ? { version: checkedVersionFilter(o.version) } : {}),
    ...(o.channel !== undefined ? { channel: o.channel } : {}),
    ...(o.label !== undefined ? { label: checkedLabelFilter(o.label) } : {}),
    ...(o.stale ? { stale: true } : {}),
    ...(o.outcome !== undefined ? { outcome: o.outcome } : {}),
  }
}

export async function releaseFleetHostsCommand(app: AppContext, options: ReleaseFleetHostsOptions): Promise<ReleaseFleetHostsResult> {
  // Arguments are checked before anything is read or sent (exit 2, no token, no network).
  const filters = hostFilters(options)
  const limit = options.limit === undefined ? DEFAULT_HOSTS_LIMIT : parseCount(options.limit, '--limit')
  return withAdminApi(app, options, async (api: AdminApi) => {
    const got = await follow<FleetHost>(limit, async (n, cursor) => {
      const a = await api.fleetHosts({ ...filters, limit: n, cursor })
      return { items: a.data.hosts, raw: rawList(a, 'hosts'), next_cursor: a.data.next_cursor }
    })
    return { hosts: got.items, limit, more: got.next_cursor !== null, filters, json: { hosts: got.raw, next_cursor: got.next_cursor } }
  })
}

export interface ReleaseFleetEventsOptions extends ReleaseConnectionOptions {
  host?: string
  version?: string
  since?: string
  kind?: string
  limit?: string
}

export interface ReleaseFleetEventsResult {
  events: FleetEventView[]
  limit: number
  more: boolean
  filters: Omit<FleetEventQuery, 'limit' | 'cursor'>
  json: { events: unknown[]; next_cursor: string | null }
}

export async function releaseFleetEventsCommand(app: AppContext, options: ReleaseFleetEventsOptions): Promise<ReleaseFleetEventsResult> {
  const filters: Omit<FleetEventQuery, 'limit' | 'cursor'> = {
    ...(options.host !== undefined ? { host: checkedHostId(options.host) } : {}),
    ...(options.version !== undefined ? { version: checkedVersionFilter(options.version) } : {}),
    ...(options.since !== undefined ? { since: checkedSince(options.since, app.clock.now()) } : {}),
    ...(options.kind !== undefined ? { kind: options.kind } : {}),
  }
  const limit = options.limit === undefined ? DEFAULT_EVENTS_LIMIT : parseCount(options.limit, '--limit')
  return withAdminApi(app, options, async (api: AdminApi) => {
    const got = await follow<FleetEventView>(limit, async (n, cursor) => {
      const a = await api.fleetEvents({ ...filters, limit: n, cursor })
      return { items: a.data.events, raw: rawList(a, 'events'), next_cursor: a.data.next_cursor }
    })
    return { events: got.items, limit, more: got.next_cursor !== null, filters, json: { events: got.raw, next_cursor: got.next_cursor } }
  })
}
