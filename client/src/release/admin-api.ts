// The broker's release-engineering API as functions: the public listings (channels, releases)
// and the authenticated changes (promote, rollout, halt, resume, yank, unyank, audit). Every
// request goes through the client's one HTTP stack (proxies, CA bundle, loopback-only http).
// The token is sent only in the Authorization header and never appears in a message.
import type { z } from 'zod'
import type { HaltRequest, PromoteRequest, RolloutRequest, YankRequest } from '../../../contract/api.ts'
import { NetworkError } from '../errors.ts'
import { readBodyCapped, type HttpClient } from '../system/http.ts'
import { redactUrl } from '../system/url-policy.ts'
import { adminError, parseRefusal } from './admin-errors.ts'
import {
  AuditPageAnswerSchema,
  ChannelChangeAnswerSchema,
  ChannelListAnswerSchema,
  channelChange,
  ReleaseChangeAnswerSchema,
  ReleaseListAnswerSchema,
  type AuditPageView,
  type ChannelChange,
  type ChannelView,
  type ReleaseChange,
  type ReleaseView,
} from './answers.ts'

/** An answer as the broker sent it (for `--json`) and the parts the client reads. */
export interface Answer<T> {
  raw: unknown
  data: T
}

export interface AdminApi {
  server: string
  channels(): Promise<Answer<ChannelView[]>>
  releases(): Promise<Answer<ReleaseView[]>>
  promote(channel: string, body: PromoteRequest): Promise<Answer<ChannelChange>>
  rollout(channel: string, body: RolloutRequest): Promise<Answer<ChannelChange>>
  halt(channel: string, body: HaltRequest): Promise<Answer<ChannelChange>>
  resume(channel: string): Promise<Answer<ChannelChange>>
  yank(version: string, body: YankRequest): Promise<Answer<ReleaseChange>>
  unyank(version: string): Promise<Answer<ReleaseChange>>
  audit(query: { before?: number; limit?: number }): Promise<Answer<AuditPageView>>
}

export interface AdminApiOptions {
  server: string
  http: HttpClient
  /** Returns the bearer token; called only for requests that need one (so `status` works without). */
  token: () => string
  /** A whole request, headers and body, must finish in this time. */
  deadlineMs?: number
}

/** Admin answers are small; anything larger is not the broker we expect. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024
export const ADMIN_DEADLINE_MS = 30_000

export function adminUrl(server: string, path: string, query: Record<string, string | number | undefined> = {}): URL {
  const base = new URL(server)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const url = new URL(path.replace(/^\//, ''), base)
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v))
  return url
}

const seg = encodeURIComponent

export function createAdminApi(options: AdminApiOptions): AdminApi {
  const { server, http } = options

  async function call<S extends z.ZodType>(
    what: string,
    method: 'GET' | 'POST',
    url: URL,
    schema: S,
    o: { auth: boolean; body?: unknown },
  ): Promise<Answer<z.infer<S>>> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (o.auth) headers.authorization = `Bearer ${options.token()}`
    let body: string | undefined
    if (method === 'POST') {
      body = JSON.stringify(o.body ?? {})
      headers['content-type'] = 'application/json'
    }
    const res = await http.send(url, { method, headers, body, signal: AbortSignal.timeout(options.deadlineMs ?? ADMIN_DEADLINE_MS) })
    const bytes = await readBodyCapped(res.body, MAX_ANSWER_BYTES, () => new NetworkError(`the broker's answer to ${what} is larger than ${MAX_ANSWER_BYTES} bytes`))
    const text = bytes.toString('utf8')
    if (res.status < 200 || res.status > 299) throw adminError(what, parseRefusal(res.status, text))
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      throw new NetworkError(`the broker's answer to ${what} is not JSON (HTTP ${res.status} from ${redactUrl(url)})`)
    }
    const parsed = schema.safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue?.path.length ? ` at ${issue.path.join('.')}` : ''
      throw new NetworkError(`the broker's answer to ${what} is not what this cco understands${where}: ${issue?.message ?? 'invalid'} (is ${server} a cco broker?)`)
    }
    return { raw, data: parsed.data }
  }

  const channelCall = async (what: string, url: URL, body?: unknown): Promise<Answer<ChannelChange>> => {
    const a = await call(what, 'POST', url, ChannelChangeAnswerSchema, { auth: true, body })
    return { raw: a.raw, data: channelChange(a.data) }
  }

  return {
    server,
    async channels() {
      const a = await call('list the channels', 'GET', adminUrl(server, 'v1/channels'), ChannelListAnswerSchema, { auth: false })
      return { raw: a.raw, data: a.data.channels }
    },
    async releases() {
      const a = await call('list the releases', 'GET', adminUrl(server, 'v1/releases'), ReleaseListAnswerSchema, { auth: false })
      return { raw: a.raw, data: a.data.releases }
    },
    promote: (channel, body) => channelCall(`promote ${body.version} to ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/promote`), body),
    rollout: (channel, body) => channelCall(`set the rollout of ${channel} to ${body.percent}%`, adminUrl(server, `v1/channels/${seg(channel)}/rollout`), body),
    halt: (channel, body) => channelCall(`halt ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/halt`), body),
    resume: (channel) => channelCall(`resume ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/resume`), {}),
    yank: (version, body) =>
      call(`yank ${version}`, 'POST', adminUrl(server, `v1/releases/${seg(version)}/yank`), ReleaseChangeAnswerSchema, { auth: true, body }),
    unyank: (version) => call(`unyank ${version}`, 'POST', adminUrl(server, `v1/releases/${seg(version)}/unyank`), ReleaseChangeAnswerSchema, { auth: true, body: {} }),
    audit: (q) => call('read the audit log', 'GET', adminUrl(server, 'v1/audit', { before: q.before, limit: q.limit }), AuditPageAnswerSchema, { auth: true }),
  }
}
