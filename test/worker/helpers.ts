// Shared helpers of the workerd tests: signed webhook deliveries through the real Worker,
// release assets with digests, manifests fetched and verified against the JWKS, admin calls
// with the test tokens, and a stand-in for the network at `fetch`.
import { runInDurableObject } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { createLocalJWKSet, generalVerify, type JSONWebKeySet } from 'jose'
import { vi } from 'vitest'
import { JwsGeneralSchema, ManifestPayloadSchema, type Channel, type ManifestPayload } from '../../contract/manifest.ts'
import { canonicalAssetName, type Platform } from '../../contract/platform.ts'
import type { AuditPageData } from '../../worker/broker/types.ts'
import { forgetCachedCopies } from '../../worker/edge-cache.ts'
import { releasePayload, signBody, type FixtureAsset, type ReleasePayloadOptions } from '../../support/github.ts'
import adminTokens from './fixtures/admin-tokens.json' with { type: 'json' }

export const BROKER = 'https://broker.test'
export const SECRET = 'test-webhook-secret'

export function stub() {
  return env.BROKER.get(env.BROKER.idFromName(env.PRODUCT))
}

let deliveries = 0
export function deliveryId(): string {
  return `test-delivery-${Date.now()}-${++deliveries}-${Math.random().toString(36).slice(2, 8)}`
}

export interface SendOptions {
  event?: string
  deliveryId?: string
  secret?: string
  /** Replaces the computed signature header (null: leave it out). */
  signature?: string | null
}

/** Posts a raw body to /webhooks/github, signed with the test secret unless told otherwise. */
export async function postWebhook(body: string, o: SendOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': o.event ?? 'release',
    'x-github-delivery': o.deliveryId ?? deliveryId(),
    'user-agent': 'GitHub-Hookshot/test',
  }
  const signature = o.signature === undefined ? await signBody(o.secret ?? SECRET, body) : o.signature
  if (signature !== null) headers['x-hub-signature-256'] = signature
  return exports.default.fetch(`${BROKER}/webhooks/github`, { method: 'POST', headers, body })
}

export async function sendRelease(p: ReleasePayloadOptions, o: SendOptions = {}): Promise<{ status: number; body: Record<string, any> }> {
  const res = await postWebhook(JSON.stringify(releasePayload(p)), o)
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

/** A deterministic fake sha256 for an asset name. */
export async function digestOf(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A release archive on github.com, with GitHub's own digest unless `digest: false`. */
export async function archive(version: string, platform: Platform, o: { digest?: boolean; host?: string; name?: string } = {}): Promise<FixtureAsset> {
  const name = o.name ?? canonicalAssetName(version, platform)
  const a: FixtureAsset = { name, url: `https://${o.host ?? 'github.com'}/cco-dev/cco/releases/download/v${version}/${name}`, size: 1000 + name.length }
  if (o.digest !== false) a.digest = `sha256:${await digestOf(name)}`
  return a
}

/** A full platform set of archives with digests. */
export async function archives(version: string, platforms: Platform[] = ['linux-x86_64', 'darwin-arm64']): Promise<FixtureAsset[]> {
  return Promise.all(platforms.map((p) => archive(version, p)))
}

/** Publishes a release with digests and asserts the broker took it. */
export async function publish(version: string, o: Partial<ReleasePayloadOptions> = {}): Promise<Record<string, any>> {
  const r = await sendRelease({ action: 'published', tag: `v${version}`, assets: await archives(version), ...o })
  if (r.status !== 200 || r.body.status !== 'published') throw new Error(`publish ${version}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

export interface FetchedManifest {
  res: Response
  body: string
  payload: ManifestPayload
  kids: string[]
}

/** The channel's manifest as hosts get it, past this colo's one-minute cache (alarm changes purge no colo). */
export async function freshManifest(channel: Channel | string): Promise<FetchedManifest> {
  await dropEdgeCache()
  return getManifest(channel)
}

/** GETs a channel's manifest and verifies every signature against the broker's JWKS. */
export async function getManifest(channel: Channel | string, headers: Record<string, string> = {}): Promise<FetchedManifest> {
  const res = await exports.default.fetch(`${BROKER}/v1/channels/${channel}/manifest`, { headers })
  if (res.status !== 200) throw new Error(`manifest ${channel}: ${res.status} ${await res.text()}`)
  const body = new TextDecoder().decode(await res.arrayBuffer())
  const jws = JwsGeneralSchema.parse(JSON.parse(body))
  const jwks = (await (await exports.default.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as JSONWebKeySet
  const keySet = createLocalJWKSet(jwks)
  const kids: string[] = []
  // generalVerify accepts one good signature; check each one separately.
  for (const sig of jws.signatures) {
    const one = { payload: jws.payload, signatures: [sig] }
    const verified = await generalVerify(one, keySet, { algorithms: ['EdDSA'] })
    if (verified.protectedHeader?.typ !== 'cco-manifest+json') throw new Error(`typ ${verified.protectedHeader?.typ}`)
    kids.push(String(verified.protectedHeader.kid))
  }
  const { payload } = await generalVerify(jws, keySet, { algorithms: ['EdDSA'] })
  return { res, body, payload: ManifestPayloadSchema.parse(JSON.parse(new TextDecoder().decode(payload))), kids }
}

/**
 * Drops this colo's cached manifests. Changes made by the Durable Object's alarm reach the edge
 * cache only when its one-minute copy expires; tests that read a channel right after an alarm
 * drop it instead of waiting.
 */
export async function dropEdgeCache(): Promise<void> {
  for (const channel of ['stable', 'beta']) await caches.default.delete(new Request(`${env.PUBLIC_URL}/v1/channels/${channel}/manifest`))
  forgetCachedCopies() // and this isolate's copies of them (worker/edge-cache.ts)
}

type AuditRow = AuditPageData['entries'][number] & { detail: Record<string, any> }

/** The audit log, oldest first. */
export async function auditLog(): Promise<AuditRow[]> {
  const entries: AuditRow[] = []
  let before: number | undefined
  for (;;) {
    // Cast: the RPC stub's mapped return type is too deep for the checker in assertions.
    const page = (await stub().audit({ before, limit: 1000 })) as unknown as AuditPageData
    entries.push(...page.entries)
    if (page.next_before === null) break
    before = page.next_before
  }
  return entries.reverse()
}

/** The test admin tokens (vitest.config.ts gives the broker their hashes). */
export const TOKENS = adminTokens

export interface AdminAnswer {
  status: number
  body: Record<string, any>
}

/**
 * Calls an admin route. `body` is sent as JSON (a string as is; undefined: no body); `token`
 * defaults to the `release-bot` token, null sends no Authorization header.
 */
export async function adminCall(method: 'GET' | 'POST', path: string, o: { body?: unknown; token?: string | null } = {}): Promise<AdminAnswer> {
  const headers: Record<string, string> = {}
  const token = o.token === undefined ? TOKENS['release-bot'] : o.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  let body: string | undefined
  if (o.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
  }
  const res = await exports.default.fetch(`${BROKER}${path}`, { method, headers, body })
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

export const adminPost = (path: string, body?: unknown, token?: string | null) => adminCall('POST', path, { body, token })

export async function channelState(name: 'stable' | 'beta') {
  return (await stub().channelStates()).find((c) => c.channel === name)!
}

/** Makes a live release look as if it went live `hours` ago (the soak clock). */
export async function backdateLive(version: string, hours: number): Promise<void> {
  const at = new Date(Date.now() - hours * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  await runInDurableObject(stub(), (_instance, state) => {
    state.storage.sql.exec('UPDATE releases SET live_since = ? WHERE version = ?', at, version)
  })
}

/** Makes every waiting alarm job (checksums fetch, mirror copy) due now: the fake clock of the retry schedule. */
export async function makeAlarmJobsDue(): Promise<void> {
  await runInDurableObject(stub(), (_instance, state) => {
    state.storage.sql.exec('UPDATE releases SET fetch_next_at = ? WHERE fetch_next_at IS NOT NULL', Date.now() - 1)
    state.storage.sql.exec('UPDATE releases SET mirror_next_at = ? WHERE mirror_next_at IS NOT NULL', Date.now() - 1)
  })
}

/** Everything a refused call must leave as it was: each channel's seq and bytes, the audit log. */
export async function stateSnapshot() {
  // Manifests first: a channel's very first read signs it, which is not a change to catch.
  const manifests = await Promise.all((['stable', 'beta'] as const).map(async (c) => (await stub().manifest(c)).body))
  const channels = await stub().channelStates()
  const audit = await auditLog()
  return { seqs: channels.map((c) => [c.channel, c.seq]), manifests, auditLength: audit.length, lastAudit: audit.at(-1)?.id ?? null }
}

export type FakeRoute = (req: Request) => Response | Promise<Response>

/**
 * A stand-in for the network at `fetch` (the Worker and the Durable Object run in this
 * isolate): URL → answer, 404 for anything else. Records every request.
 */
export function fakeNetwork(routes: Record<string, FakeRoute>) {
  const requests: Request[] = []
  const asked: string[] = []
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init)
    requests.push(req)
    asked.push(req.url)
    const route = routes[req.url]
    return route ? route(req) : new Response('not found', { status: 404 })
  })
  return { requests, asked, spy }
}

/** Makes every channel's scheduled ramp step due now (the fake clock of the ramp schedule). */
export async function makeRampsDue(): Promise<void> {
  await runInDurableObject(stub(), (_instance, state) => {
    const at = Date.now() - 1
    state.storage.sql.exec("UPDATE channels SET ramp_next_at = ?, ramp = json_set(ramp, '$.nextAt', ?) WHERE ramp IS NOT NULL", at, at)
  })
}
