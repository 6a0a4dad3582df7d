// Helpers of the fleet report tests: reports posted through the real Worker with the test fleet
// tokens, the views read with an admin token, each shard's rows read straight from its storage,
// and the shard and rollout rules computed here on their own (not with the Worker's code), so
// the tests check the Worker against the written rule.
import { runInDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import type { FleetReport } from '../../contract/fleet.ts'
import fleetTokens from './fixtures/fleet-tokens.json' with { type: 'json' }
import { BROKER, TOKENS } from './helpers.ts'

export const FLEET_TOKENS = fleetTokens
export const SHARDS = 16

export interface Answer {
  status: number
  body: any
  headers: Headers
}

let clock = 0
/** Event times a second apart, from ten days ago: they never repeat, and stay in the past and within the retention. */
export function nextAt(): string {
  clock = Math.max(clock, Date.now() - 10 * 86_400_000) + 1000
  return new Date(clock).toISOString()
}

export const uuid = () => crypto.randomUUID()

/** A rollout's download figures when no host reported a download (schema 1 reports). */
export const NO_DOWNLOADS = { downloads: 0, differential: 0, downloaded_bytes: 0, full_bytes: 0, saved_bytes: 0, saved_percent: null }

type EventInput = Partial<FleetReport['events'][number]>

/** A valid report of one check (or of the given events) from `hostId`. */
export function report(hostId: string, o: Partial<Omit<FleetReport, 'events'>> & { events?: EventInput[] } = {}): FleetReport {
  const { events, ...fields } = o
  return {
    schema: 1,
    product: 'cco',
    host_id: hostId,
    channel: 'stable',
    platform: 'linux-x86_64',
    version: '2026.11.1',
    check_interval_s: 3600,
    ...fields,
    events: (events ?? [{}]).map((e) => ({ id: uuid(), at: nextAt(), kind: 'check', outcome: 'up-to-date', ...e }) as FleetReport['events'][number]),
  }
}

/**
 * Posts a body to /v1/reports: an object as JSON, a string as it is. `token` defaults to a fleet
 * token; null sends no Authorization header (an `authorization` in `headers` replaces it).
 */
export async function postReport(body: unknown, o: { token?: string | null; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers }
  const token = o.token === undefined ? FLEET_TOKENS['hosts-eu'] : o.token
  if (token !== null && headers.authorization === undefined) headers.authorization = `Bearer ${token}`
  const res = await exports.default.fetch(`${BROKER}/v1/reports`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, body: await res.json(), headers: res.headers }
}

/** Posts reports in chunks of `chunk` at a time; fails on the first answer that is not 202. */
export async function postAll(reports: readonly FleetReport[], chunk = 100): Promise<void> {
  for (let i = 0; i < reports.length; i += chunk) {
    const answers = await Promise.all(reports.slice(i, i + chunk).map((r) => postReport(r)))
    const bad = answers.find((a) => a.status !== 202)
    if (bad) throw new Error(`report refused: ${bad.status} ${JSON.stringify(bad.body)}`)
  }
}

/** GETs a fleet view with an admin token (or the given one; null: none). */
export async function fleetGet(path: string, token: string | null = TOKENS['release-bot']): Promise<Answer> {
  const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
  const res = await exports.default.fetch(`${BROKER}${path}`, { headers })
  return { status: res.status, body: await res.json(), headers: res.headers }
}

export function shardStub(shard: number) {
  return env.FLEET.get(env.FLEET.idFromName(`cco:fleet:${shard}`))
}

export interface ShardRows {
  hosts: string[]
  events: number
  labels: number
}

/** What one shard holds, read from its SQLite storage. */
export async function shardRows(shard: number): Promise<ShardRows> {
  return runInDurableObject(shardStub(shard), (_instance, state) => {
    const sql = state.storage.sql
    return {
      hosts: sql.exec<{ host_id: string }>('SELECT host_id FROM hosts ORDER BY host_id').toArray().map((r) => r.host_id),
      events: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events').one().n,
      labels: sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM host_labels').one().n,
    }
  })
}

/** Rows in every shard, added up. */
export async function storedTotals(): Promise<{ hosts: number; events: number; labels: number }> {
  const all = await Promise.all(Array.from({ length: SHARDS }, (_, i) => shardRows(i)))
  return all.reduce((t, s) => ({ hosts: t.hosts + s.hosts.length, events: t.events + s.events, labels: t.labels + s.labels }), { hosts: 0, events: 0, labels: 0 })
}

/** Runs SQL in one shard's storage (to backdate rows). */
export async function inShard(shard: number, statement: string, ...bindings: (string | number | null)[]): Promise<void> {
  await runInDurableObject(shardStub(shard), (_instance, state) => {
    state.storage.sql.exec(statement, ...bindings)
  })
}

async function sha256(text: string): Promise<DataView> {
  return new DataView(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
}

/** The written shard rule: sha256(host_id), first 4 bytes big-endian, mod 16. */
export async function expectedShard(hostId: string): Promise<number> {
  return (await sha256(hostId)).getUint32(0, false) % SHARDS
}

/** The written rollout rule: sha256(host_id + ":" + version), first 4 bytes big-endian, mod 100. */
export async function expectedBucket(hostId: string, version: string): Promise<number> {
  return (await sha256(`${hostId}:${version}`)).getUint32(0, false) % 100
}
