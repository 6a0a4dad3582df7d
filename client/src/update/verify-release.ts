// Decides whether a release statement (`GET /v1/releases/{version}/manifest`,
// contract/release-manifest.ts) can be trusted: the channel manifest's rules 1–4
// (verify-manifest.ts: size, envelope, a signature by a pinned key, schema number) with the
// statement's own typ `cco-release+json`, then its shape, product, the version that was asked
// for, and expiry (5 min of skew). Pure apart from hashing; nothing is persisted: a statement
// has no seq to remember, and what it may not say (that a yanked version is fine) is checked
// against the channel manifest (update/pin.ts).
import { EXPIRY_SKEW_MS, PRODUCT, type PublicKey } from '../../../contract/manifest.ts'
import { firstIssue } from '../../../contract/issues.ts'
import { RELEASE_JWS_TYP, RELEASE_MANIFEST_SCHEMA_VERSION, ReleaseManifestPayloadSchema, type ReleaseManifestPayload } from '../../../contract/release-manifest.ts'
import { sameVersion } from '../../../contract/version.ts'
import { RefusedError, type RefusalRule } from '../errors.ts'
import { sha256Hex, verifySignedDocument } from './verify-manifest.ts'

const LABEL = 'Release manifest'

export interface VerifyReleaseInput {
  bytes: Uint8Array
  /** The version asked for: the statement must be about it (any spelling that compares equal). */
  version: string
  keys: readonly PublicKey[]
  now: Date
  product?: string
}

export interface VerifiedRelease {
  payload: ReleaseManifestPayload
  sha256: string
  kid: string
}

function refuse(rule: RefusalRule, message: string): never {
  throw new RefusedError(rule, `${LABEL} refused (${rule}): ${message}`)
}

export async function verifyReleaseManifest(input: VerifyReleaseInput): Promise<VerifiedRelease> {
  const product = input.product ?? PRODUCT
  const { raw, kid } = await verifySignedDocument(input.bytes, input.keys, { typ: RELEASE_JWS_TYP, label: LABEL, schemaVersion: RELEASE_MANIFEST_SCHEMA_VERSION })
  const parsed = ReleaseManifestPayloadSchema.safeParse(raw)
  if (!parsed.success) refuse('payload', `payload does not match schema ${RELEASE_MANIFEST_SCHEMA_VERSION}: ${firstIssue(parsed.error)}`)
  const payload = parsed.data
  if (payload.product !== product) refuse('product', `product is ${JSON.stringify(payload.product)}, expected ${JSON.stringify(product)}`)
  // A valid statement of another release (served at this URL by a cache or a stand-in) is refused.
  if (!sameVersion(payload.version, input.version)) refuse('payload', `it is about version ${JSON.stringify(payload.version)}, not ${JSON.stringify(input.version)}`)
  // Freshness, as for the channel manifest: a statement lives an hour (contract), so an old
  // one (signed before a yank, say) is only good for that long.
  const expires = Date.parse(payload.expires_at)
  if (input.now.getTime() > expires + EXPIRY_SKEW_MS) refuse('expired', `it expired at ${payload.expires_at}`)
  return { payload, sha256: sha256Hex(input.bytes), kid }
}
