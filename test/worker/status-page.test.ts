// The status page through the real Worker: what it shows without a session (the channels and
// the sign-in form, none of the fleet or the audit log), signing in with a static or OIDC token
// (a cookie with the right attributes, never the token), every way a session cookie or a POST
// is refused, its headers, and hostile stored strings shown escaped.
import { reset } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { FleetServed } from '../../contract/fleet.ts'
import { createApp } from '../../worker/app.ts'
import { STATUS_SESSION_TTL_S, credentialBinding, issueSession, sessionKey, verifySession } from '../../worker/auth/status-session.ts'
import { parseTokenHashes } from '../../worker/auth/static-tokens.ts'
import { loadConfig } from '../../worker/config.ts'
import { STATUS_CSP } from '../../worker/routes/status.tsx'
import { rolloutSegments, share, versionBars } from '../../worker/status/charts.ts'
import { STATUS_CSS } from '../../worker/status/page.tsx'
import { fleetGet, postAll, report, uuid } from './fleet-helpers.ts'
import { BROKER, TOKENS, adminPost, backdateLive, fakeNetwork, publish } from './helpers.ts'

const COOKIE = '__Secure-cco-status'
const HOSTILE = `<script>alert("x")</script> it's & "quoted"`

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

interface Page {
  status: number
  headers: Headers
  html: string
}

async function getStatus(cookie?: string, worker: (r: Request) => Promise<Response> = (r) => exports.default.fetch(r)): Promise<Page> {
  const res = await worker(new Request(`${BROKER}/status`, { headers: cookie === undefined ? {} : { cookie: `${COOKIE}=${cookie}` } }))
  return { status: res.status, headers: res.headers, html: await res.text() }
}

/** Posts the sign-in form as a browser on the broker's page does (or from `origin`; null: no Origin). */
async function signIn(token: string, o: { origin?: string | null; worker?: (r: Request) => Promise<Response> } = {}): Promise<Page> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  const origin = o.origin === undefined ? BROKER : o.origin
  if (origin !== null) headers.origin = origin
  const req = new Request(`${BROKER}/status/session`, { method: 'POST', headers, body: new URLSearchParams({ token }).toString(), redirect: 'manual' })
  const res = await (o.worker ?? ((r) => exports.default.fetch(r)))(req)
  return { status: res.status, headers: res.headers, html: await res.text() }
}

/** The session cookie's value from a sign-in answer. */
function sessionCookie(page: Page): string {
  const set = page.headers.get('set-cookie') ?? ''
  const m = new RegExp(`^${COOKIE}=([^;]+);`).exec(set)
  if (!m) throw new Error(`no session cookie in ${JSON.stringify(set)}`)
  return m[1]!
}

async function signedIn(token = TOKENS.alice): Promise<string> {
  const page = await signIn(token)
  expect(page.status, page.html).toBe(303)
  return sessionCookie(page)
}

/** Elements matching `selector`, with their attributes and their text as written in the HTML (entities not decoded). */
async function select(html: string, selector: string): Promise<{ attrs: Record<string, string>; text: string }[]> {
  const found: { attrs: Record<string, string>; text: string }[] = []
  await new HTMLRewriter()
    .on(selector, {
      element(el) {
        found.push({ attrs: Object.fromEntries(el.attributes), text: '' })
      },
      text(t) {
        found.at(-1)!.text += t.text
      },
    })
    .transform(new Response(html))
    .text()
  return found
}

const has = async (html: string, selector: string) => (await select(html, selector)).length > 0

/** The real app on the test env with some secrets changed (as after `wrangler secret put`). */
function withEnv(changes: Partial<Env>): (r: Request) => Promise<Response> {
  const app = createApp()
  const changed = { ...env, ...changes }
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext
  return (r) => Promise.resolve(app.fetch(r, changed, ctx))
}

/** Two soaked releases, stable promoted to the first at 30 %, beta halted for `reason`. */
async function seedChannels(reason = 'crash on start'): Promise<void> {
  for (const v of ['2026.11.1', '2026.11.2']) {
    await publish(v)
    await backdateLive(v, 25)
  }
  expect((await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', percent: 30 })).status).toBe(200)
  expect((await adminPost('/v1/channels/beta/halt', { reason })).status).toBe(200)
}

/** 6 hosts on stable 2026.11.1 (two of them spell it v2026.11.1), 3 on stable 2026.11.0, 2 on beta 2026.11.2, 1 on beta 2026.11.1. */
async function seedFleet(): Promise<void> {
  const hosts = [
    ...Array.from({ length: 4 }, () => report(uuid(), { channel: 'stable', version: '2026.11.1', events: [{ kind: 'install', outcome: 'installed', from: '2026.11.0', to: '2026.11.1' }] })),
    ...Array.from({ length: 2 }, () => report(uuid(), { channel: 'stable', version: 'v2026.11.1' })),
    ...Array.from({ length: 3 }, () => report(uuid(), { channel: 'stable', version: '2026.11.0', events: [{ outcome: 'not-in-rollout' }] })),
    ...Array.from({ length: 2 }, () => report(uuid(), { channel: 'beta', version: '2026.11.2', platform: 'darwin-arm64' })),
    report(uuid(), { channel: 'beta', version: '2026.11.1', events: [{ outcome: 'halted' }] }),
  ]
  await postAll(hosts)
}

describe('GET /status without a session', () => {
  it('shows the channels and the sign-in form, and nothing of the fleet, the rollouts or the audit log', async () => {
    await seedChannels()
    await seedFleet()
    const page = await getStatus()
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8$/i)
    expect(page.html.startsWith('<!doctype html>')).toBe(true)

    const stable = await select(page.html, '#channels article[data-channel="stable"] .version')
    expect(stable.map((e) => e.text)).toEqual(['2026.11.1'])
    expect((await select(page.html, '#channels article[data-channel="stable"] .percent')).map((e) => e.text)).toEqual(['30 %'])
    expect((await select(page.html, '#channels article[data-channel="beta"] .version')).map((e) => e.text)).toEqual(['2026.11.2'])
    expect((await select(page.html, '#channels article[data-channel="beta"] .halted')).map((e) => e.text)).toEqual(['Halted'])
    expect((await select(page.html, '#channels article[data-channel="beta"] .reason')).map((e) => e.text)).toEqual(['crash on start'])

    const form = await select(page.html, '#sign-in form')
    expect(form.map((f) => f.attrs)).toEqual([{ method: 'post', action: '/status/session' }])
    expect((await select(page.html, '#sign-in input')).map((i) => i.attrs)).toEqual([expect.objectContaining({ name: 'token', type: 'password', autocomplete: 'off' })])
    for (const hidden of ['#fleet', '#rollouts', '#audit', '#session']) expect(await has(page.html, hidden), hidden).toBe(false)
    // Not even as text: the audit actor, the fleet's counts.
    expect(page.html).not.toContain('token:release-bot')
    expect(page.html).not.toContain('hosts reporting')
  })

  it('sends the page\'s security headers, a viewport for phones, no script and its CSS as written', async () => {
    const page = await getStatus()
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'")
    expect(STATUS_CSP).toBe(page.headers.get('content-security-policy'))
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.headers.get('referrer-policy')).toBe('same-origin')
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect(page.headers.get('set-cookie')).toBeNull()
    expect((await select(page.html, 'meta[name="viewport"]')).map((m) => m.attrs.content)).toEqual(['width=device-width, initial-scale=1'])
    expect(page.html).not.toMatch(/<script|<img|<iframe|src=|https?:\/\//i)
    expect((await select(page.html, 'link')).map((l) => l.attrs)).toEqual([{ rel: 'icon', href: 'data:,' }])
    expect((await select(page.html, 'style')).map((s) => s.text)).toEqual([STATUS_CSS])
  })
})

describe('signing in', () => {
  it('turns a good static token into an HttpOnly, Secure, SameSite=Strict cookie for /status that lasts 12 hours, and never into the token', async () => {
    const page = await signIn(TOKENS.alice)
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/status')
    const setCookie = page.headers.get('set-cookie')!
    const [pair, ...attributes] = setCookie.split('; ')
    expect(pair).toMatch(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`))
    expect(attributes.sort()).toEqual([`Max-Age=${12 * 3600}`, 'HttpOnly', 'Path=/status', 'SameSite=Strict', 'Secure'].sort())
    expect(setCookie).not.toContain(TOKENS.alice)
    const payload = JSON.parse(atob(sessionCookie(page).split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/')))
    expect(Object.keys(payload).sort()).toEqual(['actor', 'cred', 'exp', 'v'])
    expect(payload.actor).toBe('token:alice')
    expect(payload.exp - Math.floor(Date.now() / 1000)).toBeGreaterThan(STATUS_SESSION_TTL_S - 60)
    expect(page.headers.get('content-security-policy')).toBe(STATUS_CSP)
    expect(page.headers.get('cache-control')).toBe('no-store')
  })

  it('then shows each channel\'s rollout progress, the fleet by version and the newest audit entries, as GET /v1/fleet counts them', async () => {
    await seedChannels()
    await seedFleet()
    const page = await getStatus(await signedIn())
    expect(page.status).toBe(200)
    expect(page.headers.get('cache-control')).toBe('no-store')
    expect((await select(page.html, '#session .actor')).map((e) => e.text)).toEqual(['token:alice'])
    expect(await has(page.html, '#sign-in')).toBe(false)

    const bars = await select(page.html, '#fleet li.version-bar')
    expect(bars.map((b) => [b.attrs['data-version'], b.attrs['data-hosts']])).toEqual([
      ['2026.11.2', '2'],
      ['2026.11.1', '7'],
      ['2026.11.0', '3'],
    ])
    expect((await select(page.html, '#fleet .hosts')).map((e) => e.text)).toEqual(['12'])
    expect((await select(page.html, '#fleet li[data-version="2026.11.1"] .channels')).map((e) => e.text)).toEqual(['beta 1 · stable 6'])

    // The same numbers as the admin API's fleet view.
    const view = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body)
    for (const r of view.rollouts) {
      const legend = await select(page.html, `#rollouts article[data-channel="${r.channel}"] .legend li`)
      const counts = Object.fromEntries(await Promise.all(legend.map(async (li) => [li.attrs['data-part'], li.text.replace(/^\D*/, '')])))
      expect(counts).toEqual(Object.fromEntries(rolloutSegments(r).map((s) => [s.part, String(s.hosts)])))
      expect((await select(page.html, `#rollouts article[data-channel="${r.channel}"] .on-channel`)).map((e) => e.text)).toEqual([String(r.on_channel)])
    }
    expect(view.rollouts.find((r) => r.channel === 'stable')).toMatchObject({ version: '2026.11.1', percent: 30, on_channel: 9, installed: 6 })

    const audit = await select(page.html, '#audit tbody tr')
    expect(audit.length).toBeGreaterThan(0)
    expect(audit.length).toBeLessThanOrEqual(20)
    // The cells row by row (time, actor, action, target): the admin calls, newest first.
    const cells = (await select(page.html, '#audit tbody td')).map((td) => td.text)
    const rows = Array.from({ length: cells.length / 4 }, (_, i) => cells.slice(4 * i + 1, 4 * i + 4))
    expect(rows.filter(([, action]) => action!.startsWith('channel.')).slice(0, 2)).toEqual([
      ['token:release-bot', 'channel.halted', 'beta'],
      ['token:release-bot', 'channel.promoted', 'stable'],
    ])
  })

  it('lists at most the 20 newest audit entries, newest first', async () => {
    await publish('2026.11.1')
    for (let p = 1; p <= 24; p++) expect((await adminPost('/v1/channels/beta/rollout', { percent: p })).status).toBe(200)
    const page = await getStatus(await signedIn())
    const rows = await select(page.html, '#audit tbody tr')
    expect(rows).toHaveLength(20)
    const ids = rows.map((r) => Number(r.attrs['data-id']))
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
  })

  it('says when no host has reported, and when the broker takes no reports at all', async () => {
    const cookie = await signedIn()
    expect((await select((await getStatus(cookie)).html, '#fleet .empty')).map((e) => e.text)).toEqual(['No host has reported yet.'])
    const off = await getStatus(cookie, withEnv({ FLEET_TOKEN_HASHES: '' }))
    expect((await select(off.html, '#fleet .empty'))[0]!.text).toContain('FLEET_TOKEN_HASHES is not set')
  })

  it('answers a bad or empty token with a 401 page that shows no data and sets no cookie', async () => {
    await seedChannels()
    await seedFleet()
    for (const [token, message] of [
      ['not-a-token', 'invalid bearer token'],
      ['', 'enter an admin token'],
      [`${TOKENS.alice}x`, 'invalid bearer token'],
    ] as const) {
      const page = await signIn(token)
      expect(page.status, token).toBe(401)
      expect(page.headers.get('set-cookie')).toBeNull()
      expect(page.headers.get('content-security-policy')).toBe(STATUS_CSP)
      expect((await select(page.html, '#message .message')).map((e) => e.text)).toEqual([message])
      expect(await has(page.html, '#sign-in form')).toBe(true)
      for (const data of ['#channels', '#fleet', '#rollouts', '#audit']) expect(await has(page.html, data), data).toBe(false)
      expect(page.html).not.toContain('2026.11.1')
      expect(page.html).not.toContain('token:release-bot')
    }
  })

  it('accepts a GitHub Actions OIDC token as the admin API does', async () => {
    const oidc = await testIssuer()
    const page = await signIn(await oidc.token())
    expect(page.status, page.html).toBe(303)
    const signed = await getStatus(sessionCookie(page))
    expect((await select(signed.html, '#session .actor')).map((e) => e.text)).toEqual(['oidc:cco-dev/cco@refs/heads/main'])
    // A token of another repository is refused as the admin API refuses it (403), with the form again.
    const other = await signIn(await oidc.token({ repository: 'someone/fork' }))
    expect(other.status).toBe(403)
    expect(other.headers.get('set-cookie')).toBeNull()
    expect((await select(other.html, '#message .message'))[0]!.text).toContain('accepted only from cco-dev/cco')
  })

  it('clears the cookie on sign-out', async () => {
    const cookie = await signedIn()
    const res = await exports.default.fetch(`${BROKER}/status/signout`, { method: 'POST', headers: { origin: BROKER, cookie: `${COOKIE}=${cookie}` }, redirect: 'manual' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/status')
    expect(res.headers.get('set-cookie')).toMatch(new RegExp(`^${COOKIE}=; Max-Age=0; .*Path=/status`))
  })
})

describe('refusals', () => {
  it('refuses a POST from another origin, or without an Origin, with 403 and no cookie', async () => {
    for (const origin of ['https://evil.test', 'http://broker.test', 'null', null]) {
      const page = await signIn(TOKENS.alice, { origin })
      expect(page.status, String(origin)).toBe(403)
      expect(page.headers.get('set-cookie')).toBeNull()
      expect((await select(page.html, '#message .message'))[0]!.text).toBe('this form is accepted only from https://broker.test/status')
    }
    const signout = await exports.default.fetch(`${BROKER}/status/signout`, { method: 'POST', headers: { origin: 'https://evil.test' }, redirect: 'manual' })
    expect(signout.status).toBe(403)
    expect(signout.headers.get('set-cookie')).toBeNull()
  })

  it('refuses a form that is not URL-encoded or is too large', async () => {
    const json = await exports.default.fetch(`${BROKER}/status/session`, { method: 'POST', headers: { origin: BROKER, 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKENS.alice }) })
    expect(json.status).toBe(415)
    expect(json.headers.get('set-cookie')).toBeNull()
    const big = await signIn('x'.repeat(70 * 1024))
    expect(big.status).toBe(413)
  })

  it('treats a forged, tampered, expired or foreign cookie as no session: no data, the form, and the cookie cleared', async () => {
    await seedChannels()
    const good = await signedIn()
    const [payload, mac] = good.split('.') as [string, string]
    const encode = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')))
    const key = (await sessionKey(env.STATUS_SESSION_KEY))!
    const credentials = { tokens: parseTokenHashes(env.ADMIN_TOKEN_HASHES), oidc: loadConfig(env).oidc }
    const otherKey = (await sessionKey('another-status-session-key-of-32-chars-or-more'))!
    const cases: [string, string, RegExp][] = [
      ['a forged MAC', `${payload}.${'A'.repeat(43)}`, /not accepted/],
      ['another actor under the old MAC', `${encode({ ...claims, actor: 'token:release-bot' })}.${mac}`, /not accepted/],
      ['a later expiry under the old MAC', `${encode({ ...claims, exp: claims.exp + 3600 })}.${mac}`, /not accepted/],
      ['the admin token itself', TOKENS.alice, /not accepted/],
      ['garbage', '%3Cscript%3E', /not accepted/],
      ['an expired session', await issueSession(key, 'token:alice', credentials, Date.now() - (STATUS_SESSION_TTL_S + 60) * 1000), /has ended/],
      ['a session signed with another key', await issueSession(otherKey, 'token:alice', credentials, Date.now()), /not accepted/],
    ]
    for (const [what, cookie, notice] of cases) {
      const page = await getStatus(cookie)
      expect(page.status, what).toBe(200)
      for (const data of ['#fleet', '#rollouts', '#audit', '#session']) expect(await has(page.html, data), `${what}: ${data}`).toBe(false)
      expect(await has(page.html, '#sign-in form'), what).toBe(true)
      expect((await select(page.html, '#sign-in .notice'))[0]?.text, what).toMatch(notice)
      expect(page.headers.get('set-cookie'), what).toMatch(new RegExp(`^${COOKIE}=; Max-Age=0; `))
    }
  })

  it('ends the sessions of a token removed from ADMIN_TOKEN_HASHES at once', async () => {
    const alice = await signedIn(TOKENS.alice)
    const bot = await signedIn(TOKENS['release-bot'])
    // The same Worker after `wrangler secret put ADMIN_TOKEN_HASHES` without alice's entry.
    const worker = withEnv({ ADMIN_TOKEN_HASHES: env.ADMIN_TOKEN_HASHES.split(',').filter((e) => e.startsWith('release-bot:')).join(',') })
    const gone = await getStatus(alice, worker)
    expect(await has(gone.html, '#audit')).toBe(false)
    expect((await select(gone.html, '#sign-in .notice'))[0]!.text).toMatch(/no longer accepted/)
    expect(await has((await getStatus(bot, worker)).html, '#audit')).toBe(true)
  })

  it('without STATUS_SESSION_KEY shows the channels and says sign-in is off; a short key is a configuration error naming it', async () => {
    const off = withEnv({ STATUS_SESSION_KEY: '' })
    const page = await getStatus(undefined, off)
    expect(page.status).toBe(200)
    expect(await has(page.html, '#channels')).toBe(true)
    expect(await has(page.html, '#sign-in form')).toBe(false)
    expect((await select(page.html, '#sign-in p'))[0]!.text).toContain('STATUS_SESSION_KEY is not set')
    expect((await signIn(TOKENS.alice, { worker: off })).status).toBe(404)

    const short = withEnv({ STATUS_SESSION_KEY: 'too-short' })
    const refused = await signIn(TOKENS.alice, { worker: short })
    expect(refused.status).toBe(500)
    expect(refused.html).toContain('secret STATUS_SESSION_KEY must be at least 32 characters')
    expect(refused.html).not.toContain('too-short')
    const shown = await getStatus(undefined, short)
    expect(shown.status).toBe(200)
    expect((await select(shown.html, '#sign-in .notice'))[0]!.text).toContain('STATUS_SESSION_KEY must be at least 32 characters')
  })
})

describe('hostile strings', () => {
  it('shows a halt reason and an audit actor full of markup escaped, as text', async () => {
    const oidc = await testIssuer()
    await publish('2026.11.1')
    // An OIDC ref under the allowed refs/tags/v* glob carries markup into the audit actor.
    const ref = `refs/tags/v${HOSTILE}`
    const halted = await adminPost('/v1/channels/beta/halt', { reason: HOSTILE }, await oidc.token({ ref }))
    expect(halted.status, JSON.stringify(halted.body)).toBe(200)

    for (const page of [await getStatus(), await getStatus(await signedIn())]) {
      expect(page.html).not.toContain('<script>')
      expect(page.html).not.toContain(HOSTILE)
      expect((await select(page.html, '#channels article[data-channel="beta"] .reason')).map((e) => e.text)).toEqual([
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; it&#39;s &amp; &quot;quoted&quot;',
      ])
    }
    const signed = await getStatus(await signedIn())
    expect((await select(signed.html, '#audit td.actor')).map((e) => e.text)).toContain(
      'oidc:cco-dev/cco@refs/tags/v&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; it&#39;s &amp; &quot;quoted&quot;',
    )
  })
})

describe('the bars', () => {
  const progress = { channel: 'stable' as const, version: '2026.11.1', percent: 30, halted: false, on_channel: 10, in_bucket: 4, installed: 3, rolled_back: 1, failed: 2, not_seen: 1, downloads: 0, differential: 0, downloaded_bytes: 0, full_bytes: 0, saved_bytes: 0, saved_percent: null }

  it('split a channel\'s hosts into five parts that add up to the hosts on it', () => {
    const parts = rolloutSegments(progress)
    expect(parts.map((p) => [p.part, p.hosts, p.share])).toEqual([
      ['installed', 3, 30],
      ['failed', 2, 20],
      ['rolled_back', 1, 10],
      ['not_seen', 1, 10],
      ['outside', 3, 30],
    ])
    expect(rolloutSegments({ ...progress, on_channel: 0, installed: 0, rolled_back: 0, failed: 0, not_seen: 0, in_bucket: 0 }).every((p) => p.share === 0)).toBe(true)
  })

  it('give one bar per version identity, adding up its channels, as shares of the fleet', () => {
    const view = FleetServed.FleetView.parse({
      generated_at: '2026-11-20T10:00:00.000Z',
      shards: 16,
      hosts: 8,
      stale: 0,
      by_version: [
        { version: '2026.11.2', version_key: '2026.11.2', channel: 'beta', hosts: 1 },
        { version: '2026.11.1', version_key: '2026.11.1', channel: 'beta', hosts: 1 },
        { version: '2026.11.1', version_key: '2026.11.1', channel: 'stable', hosts: 5 },
        { version: '2026.11.0', version_key: '2026.11', channel: 'stable', hosts: 1 },
      ],
      by_platform: [],
      by_label: [],
      by_label_complete: true,
      rollouts: [],
    })
    expect(versionBars(view)).toEqual([
      { version: '2026.11.2', hosts: 1, share: 12.5, channels: [{ channel: 'beta', hosts: 1, share: 12.5 }] },
      { version: '2026.11.1', hosts: 6, share: 75, channels: [{ channel: 'beta', hosts: 1, share: 12.5 }, { channel: 'stable', hosts: 5, share: 62.5 }] },
      { version: '2026.11.0', hosts: 1, share: 12.5, channels: [{ channel: 'stable', hosts: 1, share: 12.5 }] },
    ])
    expect(share(1, 3)).toBe(33.3)
    expect(share(5, 0)).toBe(0)
  })
})

describe('the session token', () => {
  it('is bound to the credential that made it: a token\'s stored hash, or the OIDC settings and an allowed ref', async () => {
    const tokens = parseTokenHashes(env.ADMIN_TOKEN_HASHES)
    const oidc = loadConfig(env).oidc!
    expect(credentialBinding('token:alice', { tokens, oidc })).toMatch(/^token\n[0-9a-f]{64}$/)
    expect(credentialBinding('token:mallory', { tokens, oidc })).toBeNull()
    expect(credentialBinding('oidc:cco-dev/cco@refs/heads/main', { tokens, oidc })).toMatch(/^oidc\n/)
    expect(credentialBinding('oidc:cco-dev/cco@refs/heads/main', { tokens, oidc: null })).toBeNull()
    expect(credentialBinding('oidc:cco-dev/cco@refs/heads/feature', { tokens, oidc })).toBeNull()
    expect(credentialBinding('oidc:someone/fork@refs/heads/main', { tokens, oidc })).toBeNull()

    const key = (await sessionKey(env.STATUS_SESSION_KEY))!
    const now = Date.now()
    const value = await issueSession(key, 'token:alice', { tokens, oidc }, now)
    expect(await verifySession(key, value, { tokens, oidc }, now)).toEqual({ ok: true, session: { actor: 'token:alice', exp: Math.floor(now / 1000) + STATUS_SESSION_TTL_S } })
    expect(await verifySession(key, value, { tokens, oidc }, now + STATUS_SESSION_TTL_S * 1000)).toEqual({ ok: false, why: 'expired' })
    expect(await verifySession(key, value, { tokens: tokens.filter((t) => t.name !== 'alice'), oidc }, now)).toEqual({ ok: false, why: 'revoked' })
    expect(await verifySession(key, `${value.split('.')[0]}.${'A'.repeat(43)}`, { tokens, oidc }, now)).toEqual({ ok: false, why: 'bad-signature' })

    // The longest identity OIDC lets through, all quotes (each one JSON-escaped), still fits a cookie.
    const longest = `oidc:${'r'.repeat(128)}/${'o'.repeat(127)}@refs/tags/v${'"'.repeat(1024 - 'refs/tags/v'.length)}`
    const wide = { tokens, oidc: { ...oidc, repository: longest.slice(5, 5 + 256) } }
    const long = await issueSession(key, longest, wide, now)
    expect(long.length).toBeLessThan(4000)
    expect(await verifySession(key, long, wide, now)).toMatchObject({ ok: true, session: { actor: longest } })
  })
})

/**
 * A stand-in for GitHub's OIDC issuer (vitest.config.ts sets OIDC_ISSUER and OIDC_AUDIENCE), its
 * JWKS served through the fetch stub. One key for the file: jose keeps a key set it fetched.
 */
async function testIssuer() {
  issuer ??= generateKeyPair('RS256', { extractable: true }).then(async (pair) => ({
    key: pair.privateKey,
    jwk: { ...(await exportJWK(pair.publicKey)), kid: 'status-page-issuer-key', alg: 'RS256', use: 'sig' },
  }))
  const { key, jwk } = await issuer
  fakeNetwork({ 'https://oidc.test/.well-known/jwks': () => Response.json({ keys: [jwk] }) })
  return {
    token(claims: Record<string, unknown> = {}): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ repository: 'cco-dev/cco', ref: 'refs/heads/main', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'status-page-issuer-key', typ: 'JWT' })
        .setIssuer('https://oidc.test')
        .setAudience('https://broker.test')
        .setIssuedAt(now - 60)
        .setExpirationTime(now + 300)
        .sign(key)
    },
  }
}

let issuer: Promise<{ key: CryptoKey; jwk: JWK }> | undefined

beforeAll(() => {
  // The page's CSS is a text child: it must be the same once escaped.
  expect(STATUS_CSS).not.toMatch(/[<>&"']/)
})
