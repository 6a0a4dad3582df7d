// GitHub Actions OIDC tokens for the admin API: an RS256 JWT from the configured issuer,
// verified by jose against the issuer's JWKS, for the configured audience, then checked for
// the allowed `repository` and `ref`, and, when configured, `repository_id` and
// `job_workflow_ref` (GitHub's advice: a name can be taken over by a re-created repository,
// and any workflow on an allowed ref could otherwise mint a token). A token that fails
// verification is a 401; a valid token from an identity that may not administer this broker
// is a 403.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose'
import * as z from 'zod/mini'
import type { AdminActor } from '../broker/types.ts'
import type { OidcConfig } from '../config.ts'
import { ApiError } from '../errors.ts'

export type KeySet = ReturnType<typeof createRemoteJWKSet>

/** The issuer's key set, fetched on first use and cached by jose (refetched for unknown kids). */
export function remoteKeySet(oidc: OidcConfig): KeySet {
  return createRemoteJWKSet(new URL(oidc.jwksUrl), { timeoutDuration: 5000 })
}

const GithubClaimsSchema = z.object({
  repository: z.string().check(z.maxLength(256)),
  ref: z.string().check(z.maxLength(1024)),
  workflow: z.optional(z.string().check(z.maxLength(1024))),
  run_id: z.optional(z.string().check(z.maxLength(64))),
  actor: z.optional(z.string().check(z.maxLength(256))),
  repository_id: z.optional(z.string().check(z.maxLength(64))),
  job_workflow_ref: z.optional(z.string().check(z.maxLength(2048))),
})

/** Verification failures that are the token's fault (everything else is the issuer's). */
const TOKEN_ERRORS = new Set([
  'ERR_JWT_EXPIRED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
])

export async function verifyOidcToken(token: string, oidc: OidcConfig, keys: KeySet): Promise<AdminActor> {
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, keys, {
      issuer: oidc.issuer,
      audience: oidc.audience,
      // GitHub signs with RS256; accepting only it rules out algorithm confusion.
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'iat'],
      clockTolerance: 60,
    }))
  } catch (err) {
    throw tokenError(err)
  }
  const claims = GithubClaimsSchema.safeParse(payload)
  if (!claims.success) throw new ApiError(403, 'forbidden', 'the OIDC token has no repository or ref claim')
  const { repository, ref } = claims.data
  if (repository.toLowerCase() !== oidc.repository.toLowerCase()) {
    throw new ApiError(403, 'forbidden', `OIDC tokens are accepted only from ${oidc.repository} (this one is from ${repository})`)
  }
  if (!refAllowed(ref, oidc.refs)) {
    throw new ApiError(403, 'forbidden', `OIDC tokens are accepted only for ${oidc.refs.join(', ')} (this one is for ${ref})`)
  }
  const repositoryId = claims.data.repository_id
  if (oidc.repositoryId !== null && repositoryId !== oidc.repositoryId) {
    const from = repositoryId === undefined ? 'has no repository_id claim' : `is from ${repositoryId}`
    throw new ApiError(403, 'forbidden', `OIDC tokens are accepted only from repository id ${oidc.repositoryId} (this one ${from})`)
  }
  const workflowRef = claims.data.job_workflow_ref
  if (oidc.workflowRefs !== null && (workflowRef === undefined || !refAllowed(workflowRef, oidc.workflowRefs))) {
    const from = workflowRef === undefined ? 'has no job_workflow_ref claim' : `is from ${workflowRef}`
    throw new ApiError(403, 'forbidden', `OIDC tokens are accepted only from the workflows ${oidc.workflowRefs.join(', ')} (this one ${from})`)
  }
  const detail: Record<string, string> = {}
  for (const key of ['workflow', 'run_id', 'actor'] as const) {
    const value = claims.data[key]
    if (value !== undefined) detail[key] = value
  }
  return { name: `oidc:${repository}@${ref}`, detail }
}

/** `refs/tags/v*` allows every ref starting with `refs/tags/v`; other entries match exactly (also for workflow refs). */
export function refAllowed(ref: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => (a.endsWith('*') ? ref.startsWith(a.slice(0, -1)) : ref === a))
}

function tokenError(err: unknown): ApiError {
  if (err instanceof errors.JWTExpired) return new ApiError(401, 'unauthorized', 'the OIDC token has expired')
  if (err instanceof errors.JWTClaimValidationFailed) {
    const which = err.claim === 'aud' ? 'audience' : err.claim === 'iss' ? 'issuer' : `${err.claim} claim`
    return new ApiError(401, 'unauthorized', `the OIDC token's ${which} is ${err.reason === 'missing' ? 'missing' : 'not accepted'}`)
  }
  if (err instanceof errors.JOSEError && TOKEN_ERRORS.has(err.code)) {
    return new ApiError(401, 'unauthorized', 'the OIDC token does not verify against the issuer\'s keys')
  }
  // The issuer's key set could not be fetched or read: not the caller's fault, and retryable.
  console.error(`OIDC key set unavailable: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
  return new ApiError(503, 'oidc_unavailable', 'the OIDC issuer\'s keys could not be fetched; try again shortly')
}
