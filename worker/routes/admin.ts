// The release engineers' admin API (worker/README.md): promote, rollout, halt and resume a channel, set its failure guard,
// yank and unyank a version, read the audit log. Every route authenticates first (401/403),
// then checks the path (404) and the body against the contract's schema (400/422); the
// Durable Object decides and applies the change in its write queue (404/409 refuse with
// nothing written). Changes go through changes.ts, which drops what this colo holds of the
// channels they re-signed.
import { Hono, type Context } from 'hono'
import * as z from 'zod/mini'
import {
  GuardRequestSchema,
  HaltRequestSchema,
  PromoteRequestSchema,
  RolloutRequestSchema,
  YankRequestSchema,
  type AuditPage,
  type ChannelChange,
  type ReleaseChange,
} from '../../contract/api.ts'
import { firstIssue } from '../../contract/issues.ts'
import { CHANNELS, isChannel, type Channel } from '../../contract/manifest.ts'
import type { AppEnv } from '../app-env.ts'
import { adminAuth } from '../auth/require-admin.ts'
import { brokerStub } from '../broker/stub.ts'
import type * as Broker from '../broker/types.ts'
import { brokerChanges } from '../changes.ts'
import { ApiError } from '../errors.ts'
import { jsonBody } from '../request-body.ts'
import { releaseView } from './releases.ts'

export const admin = new Hono<AppEnv>()

const ResumeRequestSchema = z.object({})

admin.post('/channels/:channel/promote', adminAuth, async (c) => {
  const channel = channelParam(c)
  const body = await jsonBody(c, PromoteRequestSchema)
  return channelAnswer(c, await changes(c).promote(channel, body, c.var.actor))
})

admin.post('/channels/:channel/rollout', adminAuth, async (c) => {
  const channel = channelParam(c)
  const body = await jsonBody(c, RolloutRequestSchema)
  return channelAnswer(c, await changes(c).rollout(channel, body, c.var.actor))
})

admin.post('/channels/:channel/halt', adminAuth, async (c) => {
  const channel = channelParam(c)
  const body = await jsonBody(c, HaltRequestSchema)
  return channelAnswer(c, await changes(c).halt(channel, body, c.var.actor))
})

admin.post('/channels/:channel/resume', adminAuth, async (c) => {
  const channel = channelParam(c)
  await jsonBody(c, ResumeRequestSchema)
  return channelAnswer(c, await changes(c).resume(channel, c.var.actor))
})

admin.post('/channels/:channel/guard', adminAuth, async (c) => {
  const channel = channelParam(c)
  const body = await jsonBody(c, GuardRequestSchema)
  return channelAnswer(c, await changes(c).setGuard(channel, body, c.var.actor))
})

admin.post('/releases/:version/yank', adminAuth, async (c) => {
  const body = await jsonBody(c, YankRequestSchema)
  return releaseAnswer(c, await changes(c).yank(c.req.param('version'), body, c.var.actor))
})

admin.post('/releases/:version/unyank', adminAuth, async (c) => {
  await jsonBody(c, ResumeRequestSchema)
  return releaseAnswer(c, await changes(c).unyank(c.req.param('version'), c.var.actor))
})

const AuditQuerySchema = z.object({
  before: z.optional(z.string().check(z.regex(/^[1-9]\d{0,14}$/, 'must be an audit entry id'))),
  limit: z.optional(z.string().check(z.regex(/^(?:[1-9]\d{0,2}|1000)$/, 'must be a number from 1 to 1000'))),
})

admin.get('/audit', adminAuth, async (c) => {
  const query = AuditQuerySchema.safeParse(c.req.query())
  if (!query.success) throw new ApiError(422, 'invalid_request', firstIssue(query.error, 'query'))
  const { before, limit } = query.data
  const page = await brokerStub(c.env, c.var.config.product).audit({ before: before === undefined ? undefined : Number(before), limit: limit === undefined ? undefined : Number(limit) })
  return c.json(page satisfies AuditPage)
})

function changes(c: Context<AppEnv>) {
  return brokerChanges(c.env, c.var.config)
}

function channelParam(c: Context<AppEnv>): Channel {
  const channel = c.req.param('channel') ?? ''
  if (!isChannel(channel)) throw new ApiError(404, 'not_found', `unknown channel ${JSON.stringify(channel)} (channels: ${CHANNELS.join(', ')})`)
  return channel
}

function channelAnswer(c: Context<AppEnv>, out: Broker.ChannelChange) {
  return c.json({ ...out.channel, changed: out.changed } satisfies ChannelChange)
}

function releaseAnswer(c: Context<AppEnv>, out: Broker.ReleaseChange) {
  return c.json({ release: releaseView(out.release, c.var.config.publicUrl), channels: out.channels } satisfies ReleaseChange)
}
