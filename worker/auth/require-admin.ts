// The admin API's authentication: `Authorization: Bearer <token>` with either a static token
// (ADMIN_TOKEN_HASHES) or a GitHub Actions OIDC token. On success the route sees
// `c.var.actor`, whose name goes into the audit log. Tokens are never logged or echoed.
// The status page's sign-in (routes/status.tsx) checks the token from its form with the same
// authenticator, so a token is accepted there exactly when the admin API would accept it.
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import type { AdminActor } from '../broker/types.ts'
import type { OidcConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import { remoteKeySet, verifyOidcToken } from './oidc.ts'
import { matchToken, parseTokenHashes, type TokenHash } from './static-tokens.ts'

export interface AdminAuthOptions {
  tokens: readonly TokenHash[]
  oidc: OidcConfig | null
}

/** Who a presented token belongs to (null: none presented), or an ApiError (401, 403, 503) saying why not. */
export type AdminAuthenticator = (token: string | null) => Promise<AdminActor>

/** Three base64url parts: a JWT, which only OIDC can vouch for. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_TOKEN_LENGTH = 16 * 1024

export function adminAuthenticator(opts: AdminAuthOptions): AdminAuthenticator {
  if (opts.tokens.length === 0 && !opts.oidc) {
    // Not a startup error as in most factories: the broker still serves hosts without admin
    // credentials, so only the admin routes refuse, saying why.
    return async function authenticate() {
      throw new ApiError(401, 'unauthorized', 'this broker has no admin credentials configured (set the secret ADMIN_TOKEN_HASHES or the var OIDC_AUDIENCE)')
    }
  }
  const names = new Set(opts.tokens.map((t) => t.name))
  if (names.size !== opts.tokens.length) throw new Error('requireAdmin: token names must be unique')
  if (opts.oidc && opts.oidc.refs.length === 0) throw new Error('requireAdmin: OIDC needs at least one allowed ref')
  const keys = opts.oidc ? remoteKeySet(opts.oidc) : null

  return async function authenticate(token) {
    if (!token) throw new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token>)')
    if (token.length > MAX_TOKEN_LENGTH) throw new ApiError(401, 'unauthorized', 'invalid bearer token')
    if (JWT_SHAPE.test(token)) {
      if (!opts.oidc || !keys) throw new ApiError(401, 'unauthorized', 'OIDC tokens are not accepted by this broker (OIDC_AUDIENCE is not set)')
      return verifyOidcToken(token, opts.oidc, keys)
    }
    const name = await matchToken(token, opts.tokens)
    if (name === null) throw new ApiError(401, 'unauthorized', 'invalid bearer token')
    return { name: `token:${name}`, detail: {} }
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')?.[1] ?? null
}

export const requireAdmin = (opts: AdminAuthOptions): MiddlewareHandler<AppEnv> => bearerAuth(adminAuthenticator(opts))

function bearerAuth(authenticate: AdminAuthenticator): MiddlewareHandler<AppEnv> {
  return async function requireAdmin(c, next) {
    c.set('actor', await authenticate(bearerToken(c.req.header('authorization'))))
    await next()
  }
}

// One authenticator and one middleware per environment object, so that the token list is
// parsed and the OIDC key set created once per isolate rather than per request.
const perEnv = new WeakMap<object, { authenticate: AdminAuthenticator; middleware: MiddlewareHandler<AppEnv> }>()

function configured(env: Env, oidc: OidcConfig | null) {
  let entry = perEnv.get(env)
  if (!entry) {
    const authenticate = adminAuthenticator({ tokens: parseTokenHashes(env.ADMIN_TOKEN_HASHES), oidc })
    entry = { authenticate, middleware: bearerAuth(authenticate) }
    perEnv.set(env, entry)
  }
  return entry
}

/** The authenticator configured from the environment: ADMIN_TOKEN_HASHES and the OIDC vars. */
export function envAdminAuthenticator(env: Env, oidc: OidcConfig | null): AdminAuthenticator {
  return configured(env, oidc).authenticate
}

/** `requireAdmin` configured from the environment: ADMIN_TOKEN_HASHES and the OIDC vars. */
export const adminAuth: MiddlewareHandler<AppEnv> = async function adminAuth(c, next) {
  return configured(c.env, c.var.config.oidc).middleware(c, next)
}
