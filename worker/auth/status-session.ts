// The status page's sign-in session (worker/README.md, "Status page"): a signed, expiring token
// kept in an HttpOnly cookie, so the admin token is typed once and never stored in the browser.
//
//   <base64url(JSON {"v":1,"actor":"token:alice","exp":<unix seconds>,"cred":"…"})>.<base64url(HMAC-SHA256)>
//
// The MAC key is derived with HKDF-SHA256 from the secret STATUS_SESSION_KEY (its own secret:
// rotating it signs everyone out, and nothing else can mint a session). `cred` ties the session
// to the credential it was made with: a keyed digest (under the same key, so it tells nothing
// about the credential) of the static token's stored hash, or of the OIDC settings. So removing
// or replacing an admin token (ADMIN_TOKEN_HASHES) or changing OIDC ends the sessions made with
// it at once, not 12 hours later. Verification checks the MAC in constant time before reading
// anything, then the expiry, then the credential; any failure is just "no session".
import * as z from 'zod/mini'
import type { OidcConfig } from '../config.ts'
import { ApiError, ConfigError } from '../errors.ts'
import { refAllowed } from './oidc.ts'
import type { TokenHash } from './static-tokens.ts'

/** A session lasts this long; then the page asks for the token again. */
export const STATUS_SESSION_TTL_S = 12 * 3600
/** The shortest STATUS_SESSION_KEY accepted (`openssl rand -base64 32` prints 44). */
export const STATUS_SESSION_KEY_MIN_LENGTH = 32

const VERSION = 1
const HKDF_INFO = 'cco status session v1'
/** The longest actor: `oidc:` with a 256-character repository and a 1024-character ref (oidc.ts). */
const MAX_ACTOR_LENGTH = 1300
/**
 * The longest cookie value, issued or accepted (browsers keep 4096 bytes per cookie). Any ASCII
 * actor fits, however much of it JSON escapes; one whose session would not fit cannot sign in.
 */
const MAX_COOKIE_LENGTH = 3900
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{1,3840})\.([A-Za-z0-9_-]{43})$/

const SessionSchema = z.strictObject({
  v: z.literal(VERSION),
  actor: z.string().check(z.minLength(1), z.maxLength(MAX_ACTOR_LENGTH)),
  exp: z.int(),
  cred: z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/)),
})

export interface StatusSession {
  /** The audit actor the token stood for: `token:<name>` or `oidc:<repository>@<ref>`. */
  actor: string
  /** Unix seconds. */
  exp: number
}

/** What a session is checked against: the admin credentials as they are now. */
export interface SessionCredentials {
  tokens: readonly TokenHash[]
  oidc: OidcConfig | null
}

export type SessionCheck = { ok: true; session: StatusSession } | { ok: false; why: 'malformed' | 'bad-signature' | 'revoked' | 'expired' }

const encoder = new TextEncoder()

/**
 * The HMAC key from STATUS_SESSION_KEY, or null when the secret is not set (sign-in is off).
 * A set but short secret is a configuration error naming the secret, never its value.
 */
export async function sessionKey(secret: string | undefined): Promise<CryptoKey | null> {
  const text = (secret ?? '').trim()
  if (text === '') return null
  if (text.length < STATUS_SESSION_KEY_MIN_LENGTH) {
    throw new ConfigError(`secret STATUS_SESSION_KEY must be at least ${STATUS_SESSION_KEY_MIN_LENGTH} characters (e.g. openssl rand -base64 32)`)
  }
  const ikm = await crypto.subtle.importKey('raw', encoder.encode(text), 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(HKDF_INFO) },
    ikm,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  )
}

// One key per environment object: derived once per isolate, not per request.
const perEnv = new WeakMap<object, Promise<CryptoKey | null>>()

/** `sessionKey` of the environment's STATUS_SESSION_KEY. */
export function envSessionKey(env: { STATUS_SESSION_KEY?: string }): Promise<CryptoKey | null> {
  let key = perEnv.get(env)
  if (!key) {
    key = sessionKey(env.STATUS_SESSION_KEY)
    perEnv.set(env, key)
  }
  return key
}

/** A new session's cookie value for `actor`, valid from `now` (ms) for STATUS_SESSION_TTL_S. */
export async function issueSession(key: CryptoKey, actor: string, credentials: SessionCredentials, now: number): Promise<string> {
  const binding = credentialBinding(actor, credentials)
  // Only an actor the authenticator just produced gets here, so its credential exists.
  if (binding === null) throw new Error(`issueSession: no credential stands behind ${actor}`)
  const claims = { v: VERSION, actor, exp: Math.floor(now / 1000) + STATUS_SESSION_TTL_S, cred: base64url(await credentialDigest(key, binding)) }
  const payload = base64url(encoder.encode(JSON.stringify(claims)))
  const value = `${payload}.${base64url(await hmac(key, `session\n${payload}`))}`
  if (actor.length > MAX_ACTOR_LENGTH || value.length > MAX_COOKIE_LENGTH) throw new ApiError(422, 'invalid_request', 'this identity\'s name is too long to keep in a session cookie')
  return value
}

/** Checks a cookie value: its MAC (constant time), its expiry, the credential behind it. */
export async function verifySession(key: CryptoKey, value: string, credentials: SessionCredentials, now: number): Promise<SessionCheck> {
  if (value.length > MAX_COOKIE_LENGTH) return { ok: false, why: 'malformed' }
  const m = COOKIE_SHAPE.exec(value)
  if (!m) return { ok: false, why: 'malformed' }
  const [, payload, tag] = m as unknown as [string, string, string]
  // Both MACs are 32 bytes (the cookie's shape allows nothing else); compared in constant time.
  if (!sameBytes(await hmac(key, `session\n${payload}`), fromBase64url(tag))) return { ok: false, why: 'bad-signature' }
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(fromBase64url(payload)))
  } catch {
    return { ok: false, why: 'malformed' }
  }
  const session = SessionSchema.safeParse(parsed)
  if (!session.success) return { ok: false, why: 'malformed' }
  const { actor, exp, cred } = session.data
  const nowS = Math.floor(now / 1000)
  // Never valid for longer than one TTL from now, whatever a session says.
  if (exp <= nowS || exp > nowS + STATUS_SESSION_TTL_S) return { ok: false, why: 'expired' }
  const binding = credentialBinding(actor, credentials)
  if (binding === null || !sameBytes(await credentialDigest(key, binding), fromBase64url(cred))) return { ok: false, why: 'revoked' }
  return { ok: true, session: { actor, exp } }
}

/**
 * What a session made by `actor` is bound to, or null when no such credential is accepted any
 * more: a static token's stored hash (`token:<name>`), or the OIDC settings (`oidc:<repository>@<ref>`,
 * while that repository and ref are still allowed). Pure, for tests.
 */
export function credentialBinding(actor: string, credentials: SessionCredentials): string | null {
  if (actor.startsWith('token:')) {
    const entry = credentials.tokens.find((t) => `token:${t.name}` === actor)
    return entry ? `token\n${hex(entry.hash)}` : null
  }
  const oidc = credentials.oidc
  const claimed = /^oidc:([^@]+)@(.+)$/.exec(actor)
  if (claimed && oidc && claimed[1]!.toLowerCase() === oidc.repository.toLowerCase() && refAllowed(claimed[2]!, oidc.refs)) {
    // The settings an OIDC sign-in was checked against; changing any of them ends its sessions.
    return ['oidc', oidc.issuer, oidc.audience, oidc.repository.toLowerCase(), oidc.repositoryId ?? '', (oidc.workflowRefs ?? []).join(',')].join('\n')
  }
  return null
}

// The two uses of the key are told apart by a prefix; base64url has no newline.
async function hmac(key: CryptoKey, text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(text)))
}

/** 16 bytes of HMAC over the credential binding: equal for the same credential, and says nothing of it. */
async function credentialDigest(key: CryptoKey, binding: string): Promise<Uint8Array> {
  return (await hmac(key, `credential\n${binding}`)).slice(0, 16)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b)
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

function base64url(bytes: Uint8Array): string {
  let text = ''
  for (const b of bytes) text += String.fromCharCode(b)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array {
  const raw = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(raw, (ch) => ch.charCodeAt(0))
}
