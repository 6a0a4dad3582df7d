// The status page (worker/README.md, "Status page"): `GET /status` shows the channels to anyone
// and, with a session, each channel's rollout progress, the fleet by version and the newest audit
// entries. `POST /status/session` takes an admin token from the page's form (checked exactly as
// the admin API checks a bearer token) and answers with a signed session cookie
// (auth/status-session.ts); `POST /status/signout` clears it. Both POSTs must come from the
// broker's own origin (PUBLIC_URL). The page only reads, and every answer carries the headers
// below; errors are pages too, never data.
import { Hono, type Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { CookieOptions } from 'hono/utils/cookie'
import type { HtmlEscapedString } from 'hono/utils/html'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { AppEnv } from '../app-env.ts'
import { envAdminAuthenticator } from '../auth/require-admin.ts'
import { STATUS_SESSION_TTL_S, envSessionKey, issueSession, verifySession, type SessionCheck, type SessionCredentials } from '../auth/status-session.ts'
import { parseTokenHashes } from '../auth/static-tokens.ts'
import { ApiError } from '../errors.ts'
import { readCapped } from '../read-capped.ts'
import { MessagePage, StatusPage, type SignedIn } from '../status/page.tsx'
import { readAudit, readChannels, readFleet, section } from '../status/read.ts'

export const status = new Hono<AppEnv>()

/** The session cookie: `__Secure-` (set only with Secure, from a secure origin), scoped to the page. */
export const STATUS_COOKIE = '__Secure-cco-status'
const COOKIE_OPTIONS: CookieOptions = { path: '/status', httpOnly: true, secure: true, sameSite: 'Strict' }
/** The sign-in form holds one token (at most 16 KiB, as a bearer token), URL-encoded. */
const FORM_MAX_BYTES = 64 * 1024

/** No script, no external asset, no framing; forms post only to this origin. */
export const STATUS_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'"

status.use('*', async function statusHeaders(c, next) {
  await next()
  const h = c.res.headers
  h.set('content-security-policy', STATUS_CSP)
  h.set('x-content-type-options', 'nosniff')
  // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with the
  // page's own form posts (Fetch standard, "append a request Origin header"), which the Origin
  // check below must refuse. `same-origin` still sends no Referer to any other origin (and the
  // page links to none).
  h.set('referrer-policy', 'same-origin')
  // The page differs by session and shows what a session may see: no cache keeps any of it.
  h.set('cache-control', 'no-store')
})

status.get('/', async (c) => {
  const { product } = c.var.config
  const now = Date.now()
  const key = await section('the session key', () => envSessionKey(c.env))
  const channels = await section('the channels', () => readChannels(c, c.env, product))
  const cookie = getCookie(c, STATUS_COOKIE)
  const check = key.ok && key.value && cookie !== undefined ? await section('the session', () => verifySession(key.value!, cookie, credentials(c), now)) : null
  const session = check?.ok && check.value.ok ? check.value.session : null

  let signedIn: SignedIn | null = null
  let notice = key.ok ? undefined : `Sign-in is unavailable: ${key.message}`
  if (session) {
    const { actor, exp } = session
    const [fleet, audit] = await Promise.all([
      channels.ok ? section('the fleet', () => readFleet(c.env, product, channels.value)) : channels,
      section('the audit log', () => readAudit(c.env, product)),
    ])
    const reportsOn = (c.env.FLEET_TOKEN_HASHES ?? '').trim() !== ''
    signedIn = { actor, exp, fleet, reportsOn, audit, rollouts: fleet.ok ? { ok: true, value: fleet.value.rollouts } : fleet }
  } else if (check) {
    // A cookie that does not stand for a session: say why, and drop it.
    notice = check.ok ? REFUSED[check.value.ok ? 'malformed' : check.value.why] : `Sign-in is unavailable: ${check.message}`
    deleteCookie(c, STATUS_COOKIE, COOKIE_OPTIONS)
  }
  return page(c, <StatusPage product={product} now={now} channels={channels} signedIn={signedIn} signInEnabled={key.ok && key.value !== null} notice={notice} />)
})

status.post('/session', async (c) => {
  sameOrigin(c)
  const key = await envSessionKey(c.env)
  if (!key) throw new ApiError(404, 'sign_in_disabled', 'sign-in is off on this broker (the secret STATUS_SESSION_KEY is not set)')
  const token = await formToken(c)
  if (token === '') throw new ApiError(401, 'unauthorized', 'enter an admin token')
  const actor = await envAdminAuthenticator(c.env, c.var.config.oidc)(token)
  setCookie(c, STATUS_COOKIE, await issueSession(key, actor.name, credentials(c), Date.now()), { ...COOKIE_OPTIONS, maxAge: STATUS_SESSION_TTL_S })
  console.log(`status page: ${actor.name} signed in`)
  return c.redirect('/status', 303)
})

status.post('/signout', (c) => {
  sameOrigin(c)
  deleteCookie(c, STATUS_COOKIE, COOKIE_OPTIONS)
  return c.redirect('/status', 303)
})

const TITLES: Partial<Record<number, string>> = {
  401: 'Not signed in',
  403: 'Refused',
  404: 'Not available',
  413: 'Too large',
  415: 'Not a form',
  500: 'Broker misconfigured',
  503: 'Try again shortly',
}

// Errors of this page are pages: the status and an ApiError's message (written to be safe to
// send), never the data; anything else is logged and shown as an internal error.
status.onError((err, c) => {
  const product = c.get('config')?.product ?? 'cco'
  if (err instanceof ApiError) {
    const signIn = err.status === 401 || err.status === 403
    return page(c, <MessagePage product={product} title={TITLES[err.status] ?? 'Refused'} message={err.message} signIn={signIn} />, err.status)
  }
  console.error(`${c.req.method} ${c.req.path} failed:`, err)
  return page(c, <MessagePage product={product} title="Internal error" message="internal error" signIn={false} />, 500)
})

async function page(c: Context<AppEnv>, node: HtmlEscapedString | Promise<HtmlEscapedString>, code: ContentfulStatusCode = 200): Promise<Response> {
  return c.html(`<!doctype html>${await node}`, code)
}

/** The admin credentials a session is bound to, as configured now. */
function credentials(c: Context<AppEnv>): SessionCredentials {
  return { tokens: parseTokenHashes(c.env.ADMIN_TOKEN_HASHES), oidc: c.var.config.oidc }
}

/**
 * A POST must come from a page of this broker: `Origin` equal to PUBLIC_URL's origin. The
 * cookie is SameSite=Strict as well; this also refuses a cross-site sign-in (login CSRF) and
 * any request without an Origin.
 */
function sameOrigin(c: Context<AppEnv>): void {
  const expected = new URL(c.var.config.publicUrl).origin
  if (c.req.header('origin') !== expected) throw new ApiError(403, 'forbidden', `this form is accepted only from ${expected}/status`)
}

/** The `token` field of the sign-in form (URL-encoded), trimmed. */
async function formToken(c: Context<AppEnv>): Promise<string> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') throw new ApiError(415, 'unsupported_media_type', 'the sign-in form is sent as application/x-www-form-urlencoded')
  const bytes = await readCapped(c.req.raw.body, FORM_MAX_BYTES, c.req.header('content-length'))
  if (bytes === null) throw new ApiError(413, 'payload_too_large', `the sign-in form is at most ${FORM_MAX_BYTES} bytes`)
  return (new URLSearchParams(new TextDecoder().decode(bytes)).get('token') ?? '').trim()
}

const REFUSED: Record<Extract<SessionCheck, { ok: false }>['why'], string> = {
  expired: 'Your session has ended; sign in again.',
  revoked: 'The token this session was made with is no longer accepted; sign in again.',
  'bad-signature': 'The session cookie was not accepted; sign in again.',
  malformed: 'The session cookie was not accepted; sign in again.',
}
