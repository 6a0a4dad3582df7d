// The signed release statement: what one release's assets are, for `cco update --version X`
// (contract/README.md, "The release manifest").
//
// It uses the channel manifest's JWS profile (General JSON, Ed25519, every configured key
// signs, a pinned kid) with its own `typ`, so that neither document can be passed off as the
// other: a client checks `typ` on the signature it verified. Its fields reuse the channel
// manifest's schemas, so a version, a timestamp and an asset mean exactly the same in both.
// It carries no `seq`: it is not a channel's state but a fact about one release, and a yank
// made after it was signed is learned from the channel manifest (see README).

import * as z from 'zod/mini'
import { ManifestPayloadSchema, ReleaseSchema } from './manifest.ts'

/** The protected header's `typ` of a release statement (the channel manifest's is `cco-manifest+json`). */
export const RELEASE_JWS_TYP = 'cco-release+json'
/** The payload schema this contract describes; a breaking change gets a new number. */
export const RELEASE_MANIFEST_SCHEMA_VERSION = 1
/**
 * How long a statement is valid after the broker signed it. It is signed when asked for (and
 * cached for a minute), so a short life costs nothing and bounds how long a statement signed
 * before a yank can be replayed; clients accept EXPIRY_SKEW_MS past it, as for manifests.
 */
export const RELEASE_MANIFEST_TTL_MS = 60 * 60 * 1000
/** The only status a statement offers for install; clients refuse any other (a newer broker may sign others). */
export const RELEASE_STATUS_LIVE = 'live'

export const ReleaseManifestPayloadSchema = z.object({
  schema: z.literal(RELEASE_MANIFEST_SCHEMA_VERSION),
  product: z.string(),
  version: ReleaseSchema.shape.version,
  tag: ReleaseSchema.shape.tag,
  published_at: ReleaseSchema.shape.published_at,
  /** `live` (the broker signs nothing else today); an open string so that a new status is refused by the rule, not by the shape. */
  status: z.string().check(z.minLength(1), z.maxLength(32)),
  issued_at: ManifestPayloadSchema.shape.issued_at,
  expires_at: ManifestPayloadSchema.shape.expires_at,
  notes_url: ReleaseSchema.shape.notes_url,
  assets: ReleaseSchema.shape.assets,
})
export type ReleaseManifestPayload = z.infer<typeof ReleaseManifestPayloadSchema>
