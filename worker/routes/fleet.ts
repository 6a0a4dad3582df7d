// Fleet reports (worker/README.md, "Fleet reports"): opted-in hosts post what happened to them
// with a fleet token; release engineers read the fleet with an admin token. A report goes to the
// one FleetShard its host id hashes to; a view asks every shard at once and adds up their SQL
// counts (fleet/merge.ts). Every refusal stores nothing.
import { Hono, type Context } from 'hono'
import * as z from 'zod/mini'
import type { ErrorBody } from '../../contract/api.ts'
import {
  EVENT_KINDS,
  EVENT_OUTCOMES,
  FLEET_REPORT_MAX_BYTES,
  FleetReportSchema,
  UUID_PATTERN,
  parseLabelFilter,
  type FleetEventPage,
  type FleetHostPage,
  type FleetReport,
  type FleetView,
  type ReportAccepted,
} from '../../contract/fleet.ts'
import { firstIssue, firstIssueInWords } from '../../contract/issues.ts'
import { CHANNELS } from '../../contract/manifest.ts'
import { VERSION_MAX_LENGTH, versionIdentity } from '../../contract/version.ts'
import type { AppEnv } from '../app-env.ts'
import { fleetAuth } from '../auth/require-fleet.ts'
import { adminAuth } from '../auth/require-admin.ts'
import { brokerStub } from '../broker/stub.ts'
import { brokerChanges } from '../changes.ts'
import { ApiError } from '../errors.ts'
import { eventCursor, eventOrder, hostCursor, hostOrder, mergeShardPages, mergeSummaries, readEventCursor, readHostCursor, shardQuota } from '../fleet/merge.ts'
import { allShards, fleetShard, fleetShardCount, shardOf } from '../fleet/shards.ts'
import type { RolloutQuery } from '../fleet/types.ts'
import { readCapped } from '../read-capped.ts'

export const fleet = new Hono<AppEnv>()

fleet.post('/reports', fleetAuth, async (c) => {
  const report = await reportBody(c)
  const { product } = c.var.config
  if (report.product !== product) throw new ApiError(422, 'invalid_request', `product: this broker serves ${product}, not ${report.product}`)
  const shard = await shardOf(report.host_id, fleetShardCount(c.env))
  const out = await fleetShard(c.env, product, shard).report(report)
  if (!out.ok) {
    const message = `host ${report.host_id} has reported too often; retry after ${out.retryAfterS} s`
    return c.json<ErrorBody>({ error: { code: 'rate_limited', message } }, 429, { 'retry-after': String(out.retryAfterS) })
  }
  // A failure for a version may trip its channel's failure guard: the broker evaluates it after
  // the answer (never delaying the 202), halts with a signed change if it trips, and changes.ts
  // purges this colo's copies of the manifest like after any change.
  const failed = failedVersions(report)
  if (out.accepted > 0 && failed.length > 0) {
    const changes = brokerChanges(c.env, c.var.config)
    for (const version of failed) {
      c.executionCtx.waitUntil(changes.evaluateGuard(report.channel, version).catch((err: unknown) => console.error(`failure guard of ${report.channel} (${version}): ${(err as Error).message}`)))
    }
  }
  return c.json({ accepted: out.accepted, duplicates: out.duplicates } satisfies ReportAccepted, 202)
})

/** The versions a report says failed on its host: install failed, rolled back from, unhealthy on. */
function failedVersions(report: FleetReport): string[] {
  const out = new Set<string>()
  for (const e of report.events) {
    if (e.kind === 'install' && e.outcome === 'failed' && e.to !== undefined) out.add(e.to)
    else if (e.kind === 'rollback' && e.outcome === 'rolled-back' && e.from !== undefined) out.add(e.from)
    else if (e.kind === 'health' && e.outcome === 'unhealthy' && e.to !== undefined) out.add(e.to)
  }
  return [...out]
}

fleet.get('/fleet', adminAuth, async (c) => {
  const { product } = c.var.config
  const shards = fleetShardCount(c.env)
  const rollouts: RolloutQuery[] = (await brokerStub(c.env, product).channelStates()).map((s) => ({
    channel: s.channel,
    version: s.version,
    percent: s.rollout.percent,
    halted: s.rollout.halted,
  }))
  const parts = await Promise.all(allShards(shards).map((index) => fleetShard(c.env, product, index).summary({ shards, index, rollouts })))
  return c.json(mergeSummaries(parts, rollouts, shards, Date.now()) satisfies FleetView)
})

const Limit = z.optional(z.string().check(z.regex(/^(?:[1-9]\d{0,2})$/, 'must be a number from 1 to 500'), z.refine((s) => Number(s) <= 500, 'must be a number from 1 to 500')))
const VersionFilter = z.optional(z.string().check(z.minLength(1), z.maxLength(VERSION_MAX_LENGTH)))
const DEFAULT_LIMIT = 100

const HostQuerySchema = z.object({
  version: VersionFilter,
  channel: z.optional(z.enum(CHANNELS, `must be one of ${CHANNELS.join(', ')}`)),
  label: z.optional(z.string().check(z.refine((s) => parseLabelFilter(s) !== null, 'must be key=value (a label as hosts report it)'))),
  stale: z.optional(z.enum(['true', 'false'], 'must be true or false')),
  outcome: z.optional(z.enum(EVENT_OUTCOMES, `must be one of ${EVENT_OUTCOMES.join(', ')}`)),
  limit: Limit,
  cursor: z.optional(z.string()),
})

fleet.get('/fleet/hosts', adminAuth, async (c) => {
  const q = query(c, HostQuerySchema)
  const after = q.cursor === undefined ? undefined : readHostCursor(q.cursor)
  if (after === null) throw new ApiError(422, 'invalid_request', 'query.cursor: not a cursor of this listing')
  const { product } = c.var.config
  const shards = fleetShardCount(c.env)
  const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit)
  const quota = shardQuota(limit, shards)
  const filters = {
    versionKey: q.version === undefined ? undefined : versionIdentity(q.version),
    channel: q.channel,
    label: q.label === undefined ? undefined : parseLabelFilter(q.label)!,
    stale: q.stale === undefined ? undefined : q.stale === 'true',
    outcome: q.outcome,
    after,
  }
  const pages = await Promise.all(allShards(shards).map((index) => fleetShard(c.env, product, index).hosts({ ...filters, shards, index, limit: quota + 1 })))
  const { rows, more } = mergeShardPages(pages, quota, limit, hostOrder)
  return c.json({ hosts: rows, next_cursor: more ? hostCursor(rows.at(-1)!) : null } satisfies FleetHostPage)
})

const EventQuerySchema = z.object({
  host: z.optional(z.string().check(z.regex(UUID_PATTERN, 'must be a host id (a lowercase UUID)'))),
  version: VersionFilter,
  since: z.optional(z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time with a zone' })),
  kind: z.optional(z.enum(EVENT_KINDS, `must be one of ${EVENT_KINDS.join(', ')}`)),
  limit: Limit,
  cursor: z.optional(z.string()),
})

fleet.get('/fleet/events', adminAuth, async (c) => {
  const q = query(c, EventQuerySchema)
  const before = q.cursor === undefined ? undefined : readEventCursor(q.cursor)
  if (before === null) throw new ApiError(422, 'invalid_request', 'query.cursor: not a cursor of this listing')
  const { product } = c.var.config
  const shards = fleetShardCount(c.env)
  const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit)
  // A host's events are all in its own shard.
  const asked = q.host === undefined ? allShards(shards) : [await shardOf(q.host, shards)]
  const quota = asked.length === 1 ? limit : shardQuota(limit, shards)
  const filters = {
    hostId: q.host,
    versionKey: q.version === undefined ? undefined : versionIdentity(q.version),
    since: q.since === undefined ? undefined : Date.parse(q.since),
    kind: q.kind,
    before,
  }
  const pages = await Promise.all(asked.map((index) => fleetShard(c.env, product, index).events({ ...filters, shards, index, limit: quota + 1 })))
  const { rows, more } = mergeShardPages(pages, quota, limit, eventOrder)
  return c.json({ events: rows, next_cursor: more ? eventCursor(rows.at(-1)!) : null } satisfies FleetEventPage)
})

/**
 * The report body: at most 16 KiB (413), JSON (400), the contract's schema (422 naming the
 * field). Not request-body.ts's `jsonBody`, which reads the admin bodies: a report has its own
 * cap, and an empty body is no report (400), where an empty admin body stands for `{}`.
 */
async function reportBody(c: Context<AppEnv>): Promise<FleetReport> {
  const bytes = await readCapped(c.req.raw.body, FLEET_REPORT_MAX_BYTES, c.req.header('content-length'))
  if (bytes === null) throw new ApiError(413, 'payload_too_large', `a report is at most ${FLEET_REPORT_MAX_BYTES} bytes`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes))
  } catch {
    throw new ApiError(400, 'malformed_json', 'the request body is not valid JSON')
  }
  // reportInput: a missing field is then told apart from one of the wrong type (`host_id: required`).
  const parsed = FleetReportSchema.safeParse(json, { reportInput: true })
  if (!parsed.success) throw new ApiError(422, 'invalid_request', firstIssueInWords(parsed.error, 'body'))
  return parsed.data
}

function query<S extends z.ZodMiniType>(c: Context<AppEnv>, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query())
  if (!parsed.success) throw new ApiError(422, 'invalid_request', firstIssue(parsed.error, 'query'))
  return parsed.data
}
