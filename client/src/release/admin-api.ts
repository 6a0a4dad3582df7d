// The broker's release-engineering API as functions: the public listings (channels, releases)
// and the authenticated changes (promote, rollout, halt, resume, yank, unyank, audit). Every
// request goes through the client's one HTTP stack (proxies, CA bundle, loopback-only http).
// The token is sent only in the Authorization header and never appears in a message. Answers
// are read with the contract's `Accepted` schemas: a newer broker's extra fields are kept.
import type * as z from 'zod/mini'
import { Accepted, type AcceptedAnswer, type GuardRequest, type HaltRequest, type PromoteRequest, type RolloutRequest, type YankRequest } from '../../../contract/api.ts'
import { FleetAccepted } from '../../../contract/fleet.ts'
import { firstIssueInWords } from '../../../contract/issues.ts'
import { NetworkError } from '../errors.ts'
import { readBodyCapped, type HttpClient } from '../system/http.ts'
import { redactUrl } from '../system/url-policy.ts'
import { adminError, parseRefusal } from './admin-errors.ts'

/** An answer as the broker sent it (for `--json`) and the parts the client reads. */
export interface Answer<T> {
  raw: unknown
  data: T
}

export interface AdminApi {
  server: string
  channels(): Promise<Answer<AcceptedAnswer<'ChannelSummary'>[]>>
  releases(): Promise<Answer<AcceptedAnswer<'ReleaseView'>[]>>
  promote(channel: string, body: PromoteRequest): Promise<Answer<AcceptedAnswer<'ChannelChange'>>>
  rollout(channel: string, body: RolloutRequest): Promise<Answer<AcceptedAnswer<'ChannelChange'>>>
  halt(channel: string, body: HaltRequest): Promise<Answer<AcceptedAnswer<'ChannelChange'>>>
  resume(channel: string): Promise<Answer<AcceptedAnswer<'ChannelChange'>>>
  /** `POST /v1/channels/{channel}/guard`: the failure guard's thresholds. */
  guard(channel: string, body: GuardRequest): Promise<Answer<AcceptedAnswer<'ChannelChange'>>>
  yank(version: string, body: YankRequest): Promise<Answer<AcceptedAnswer<'ReleaseChange'>>>
  unyank(version: string): Promise<Answer<AcceptedAnswer<'ReleaseChange'>>>
  audit(query: { before?: number; limit?: number }): Promise<Answer<AcceptedAnswer<'AuditPage'>>>
  /** `GET /v1/fleet`: the fleet summary. */
  fleet(): Promise<Answer<FleetAnswer<'FleetView'>>>
  /** `GET /v1/fleet/hosts`: one page of hosts. */
  fleetHosts(query: FleetHostQuery): Promise<Answer<FleetAnswer<'FleetHostPage'>>>
  /** `GET /v1/fleet/events`: one page of events, newest first. */
  fleetEvents(query: FleetEventQuery): Promise<Answer<FleetAnswer<'FleetEventPage'>>>
}

/** A fleet view's answer as a client reads it (contract/fleet.ts, `FleetAccepted`). */
export type FleetAnswer<K extends keyof typeof FleetAccepted> = z.output<(typeof FleetAccepted)[K]>

export interface FleetHostQuery {
  version?: string
  channel?: string
  /** `key=value` */
  label?: string
  stale?: boolean
  outcome?: string
  limit?: number
  cursor?: string
}

export interface FleetEventQuery {
  host?: string
  version?: string
  since?: string
  kind?: string
  limit?: number
  cursor?: string
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

export function adminUrl(server: string, path: string, query: Record<string, string | number | boolean | undefined> = {}): URL {
  const base = new URL(server)
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  const url = new URL(path.replace(/^\//, ''), base)
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v))
  return url
}

const seg = encodeURIComponent

export function createAdminApi(options: AdminApiOptions): AdminApi {
  const { server, http } = options

  async function call<S extends z.ZodMiniType>(
    what: string,
    method: 'GET' | 'POST',
    url: URL,
    schema: S,
    o: { auth: boolean; body?: unknown },
  ): Promise<Answer<z.output<S>>> {
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
    // reportInput: a missing field is then told apart from one of the wrong type.
    const parsed = schema.safeParse(raw, { reportInput: true })
    if (!parsed.success) {
      throw new NetworkError(`the broker's answer to ${what} is not what this cco understands at ${firstIssueInWords(parsed.error)} (is ${server} a cco broker?)`)
    }
    return { raw, data: parsed.data }
  }

  const channelCall = (what: string, url: URL, body: unknown) => call(what, 'POST', url, Accepted.ChannelChange, { auth: true, body })

  return {
    server,
    async channels() {
      const a = await call('list the channels', 'GET', adminUrl(server, 'v1/channels'), Accepted.ChannelList, { auth: false })
      return { raw: a.raw, data: a.data.channels }
    },
    async releases() {
      const a = await call('list the releases', 'GET', adminUrl(server, 'v1/releases'), Accepted.ReleaseList, { auth: false })
      return { raw: a.raw, data: a.data.releases }
    },
    promote: (channel, body) => channelCall(`promote ${body.version} to ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/promote`), body),
    rollout: (channel, body) => channelCall(body.ramp ? `ramp the rollout of ${channel}` : `set the rollout of ${channel} to ${body.percent}%`, adminUrl(server, `v1/channels/${seg(channel)}/rollout`), body),
    halt: (channel, body) => channelCall(`halt ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/halt`), body),
    resume: (channel) => channelCall(`resume ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/resume`), {}),
    guard: (channel, body) => channelCall(`set the failure guard of ${channel}`, adminUrl(server, `v1/channels/${seg(channel)}/guard`), body),
    yank: (version, body) =>
      call(`yank ${version}`, 'POST', adminUrl(server, `v1/releases/${seg(version)}/yank`), Accepted.ReleaseChange, { auth: true, body }),
    unyank: (version) => call(`unyank ${version}`, 'POST', adminUrl(server, `v1/releases/${seg(version)}/unyank`), Accepted.ReleaseChange, { auth: true, body: {} }),
    audit: (q) => call('read the audit log', 'GET', adminUrl(server, 'v1/audit', { before: q.before, limit: q.limit }), Accepted.AuditPage, { auth: true }),
    fleet: () => call('read the fleet', 'GET', adminUrl(server, 'v1/fleet'), FleetAccepted.FleetView, { auth: true }),
    fleetHosts: (q) => call('list the fleet hosts', 'GET', adminUrl(server, 'v1/fleet/hosts', { ...q }), FleetAccepted.FleetHostPage, { auth: true }),
    fleetEvents: (q) => call('list the fleet events', 'GET', adminUrl(server, 'v1/fleet/events', { ...q }), FleetAccepted.FleetEventPage, { auth: true }),
  }
}
