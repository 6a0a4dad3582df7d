// The fleet reports' authentication: `Authorization: Bearer <fleet token>`, matched in constant
// time against FLEET_TOKEN_HASHES (static-tokens.ts). Fleet tokens sit on every opted-in host, so
// they can do nothing but report: admin tokens are not accepted here, fleet tokens are not
// accepted by the admin API, and a token listed as both is a configuration error. Tokens are
// never logged or echoed.
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { ApiError, ConfigError } from '../errors.ts'
import { matchToken, parseTokenHashes, type TokenHash } from './static-tokens.ts'

export interface FleetAuthOptions {
  tokens: readonly TokenHash[]
  /** The admin tokens, refused as fleet tokens should an entry be listed in both secrets. */
  adminTokens: readonly TokenHash[]
}

const MAX_TOKEN_LENGTH = 1024

export const requireFleetToken = (opts: FleetAuthOptions): MiddlewareHandler<AppEnv> => {
  if (opts.tokens.length === 0) {
    // Reports are opt-in for the broker too: without fleet tokens the route says it is off, so
    // a host stops reporting instead of retrying with a token it believes wrong.
    return async function requireFleetToken() {
      throw new ApiError(404, 'reports_disabled', 'this broker does not take fleet reports (the secret FLEET_TOKEN_HASHES is not set)')
    }
  }
  const hex = (t: TokenHash) => Array.from(t.hash, (b) => b.toString(16).padStart(2, '0')).join('')
  const admin = new Set(opts.adminTokens.map(hex))
  const shared = opts.tokens.find((t) => admin.has(hex(t)))
  if (shared) throw new ConfigError(`secret FLEET_TOKEN_HASHES: the entry ${JSON.stringify(shared.name)} is also an admin token (ADMIN_TOKEN_HASHES); fleet tokens must be their own`)

  return async function requireFleetToken(c, next) {
    const token = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header('authorization') ?? '')?.[1]
    if (!token) throw new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <fleet token>)')
    if (token.length > MAX_TOKEN_LENGTH || (await matchToken(token, opts.tokens)) === null) throw new ApiError(401, 'unauthorized', 'invalid fleet token')
    await next()
  }
}

// One middleware per environment object: the secrets are parsed once per isolate.
const perEnv = new WeakMap<object, MiddlewareHandler<AppEnv>>()

/** `requireFleetToken` configured from FLEET_TOKEN_HASHES (and ADMIN_TOKEN_HASHES, to keep them apart). */
export const fleetAuth: MiddlewareHandler<AppEnv> = async function fleetAuth(c, next) {
  let handler = perEnv.get(c.env)
  if (!handler) {
    handler = requireFleetToken({
      tokens: parseTokenHashes(c.env.FLEET_TOKEN_HASHES, 'FLEET_TOKEN_HASHES'),
      adminTokens: parseTokenHashes(c.env.ADMIN_TOKEN_HASHES),
    })
    perEnv.set(c.env, handler)
  }
  return handler(c, next)
}
