// The signed channel manifest: payload schema, JWS profile and limits (contract/README.md).
//
// zod/mini keeps the Worker bundle small; unknown fields are stripped, never refused, so a
// newer broker can add fields without breaking older clients (see contract/README.md).

import * as z from 'zod/mini'
import { isVersion } from './version.ts'

export const PRODUCT = 'cco'
export const CHANNELS = ['stable', 'beta'] as const
export type Channel = (typeof CHANNELS)[number]
export function isChannel(name: string): name is Channel {
  return (CHANNELS as readonly string[]).includes(name)
}

/** The payload schema this contract describes; a breaking change gets a new number. */
export const MANIFEST_SCHEMA_VERSION = 1
/** Clients refuse larger manifests before parsing them. */
export const MANIFEST_MAX_BYTES = 64 * 1024
/** Release notes longer than this (UTF-8 bytes) are cut; `notes_url` has the full text. */
export const NOTES_MAX_BYTES = 16 * 1024
/** Clients accept an `expires_at` this far in the past (clock skew). */
export const EXPIRY_SKEW_MS = 5 * 60 * 1000
/** Longest asset file name a manifest carries (GitHub allows longer ones; the broker refuses them). */
export const ASSET_NAME_MAX_LENGTH = 255

/** The JWS profile: General JSON Serialization, Ed25519, an explicit type. */
export const JWS_ALG = 'EdDSA'
export const JWS_TYP = 'cco-manifest+json'
export const MANIFEST_MEDIA_TYPE = 'application/jose+json'

const Sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits'))
const VersionText = z.string().check(z.refine(isVersion, 'not a version'))
const Timestamp = z.iso.datetime({ offset: true })
const HttpUrl = z.url({ protocol: /^https?$/ })

const ByteSize = z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER))

/** A file a host fetches through the broker: where, how long, what digest (a block map, a chunk pack). */
export const FileRefSchema = z.object({ url: HttpUrl, size: ByteSize, sha256: Sha256Hex })
export type FileRef = z.infer<typeof FileRefSchema>

/**
 * What a differential update needs (contract/blockmap.ts): the binary inside the archive (its
 * size and sha256, which the reassembled binary must match), its block map and the chunk pack
 * the missing chunks are fetched from by range. Optional: a release built without them, or a
 * broker that predates them, sends none, and every client then downloads the archive.
 */
export const BinaryDeltaSchema = z.object({
  size: ByteSize,
  sha256: Sha256Hex,
  blockmap: FileRefSchema,
  pack: FileRefSchema,
})
export type BinaryDelta = z.infer<typeof BinaryDeltaSchema>

export const AssetSchema = z.object({
  name: z.string().check(z.minLength(1), z.maxLength(ASSET_NAME_MAX_LENGTH)),
  url: HttpUrl,
  size: ByteSize,
  sha256: Sha256Hex,
  binary: z.optional(BinaryDeltaSchema),
})
export type Asset = z.infer<typeof AssetSchema>

export const ReleaseSchema = z.object({
  version: VersionText,
  tag: z.string().check(z.minLength(1), z.maxLength(255)),
  published_at: Timestamp,
  notes: z.string().check(z.refine((s) => utf8Length(s) <= NOTES_MAX_BYTES, 'notes over 16 KiB')),
  notes_url: z.nullable(HttpUrl),
  // Keyed by platform (contract/platform.ts). Any string key is accepted so that a future
  // platform does not make older clients refuse the whole manifest; they look up their own.
  assets: z.record(z.string().check(z.regex(/^[a-z0-9]+-[a-z0-9_]+$/)), AssetSchema),
})
export type Release = z.infer<typeof ReleaseSchema>

export const RolloutSchema = z.object({
  percent: z.int().check(z.minimum(0), z.maximum(100)),
  halted: z.boolean(),
})
export type Rollout = z.infer<typeof RolloutSchema>

export const YankedSchema = z.object({
  version: VersionText,
  reason: z.string().check(z.maxLength(1024)),
})
export type Yanked = z.infer<typeof YankedSchema>

export const ManifestPayloadSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA_VERSION),
  product: z.string(),
  channel: z.string(),
  seq: z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER)),
  issued_at: Timestamp,
  expires_at: Timestamp,
  release: z.nullable(ReleaseSchema),
  rollout: RolloutSchema,
  yanked: z.array(YankedSchema),
})
export type ManifestPayload = z.infer<typeof ManifestPayloadSchema>

/** The JWS General JSON Serialization envelope (structure only; jose verifies the rest). */
export const JwsGeneralSchema = z.object({
  payload: z.string(),
  signatures: z
    .array(
      z.object({
        protected: z.string(),
        signature: z.string(),
        header: z.optional(z.record(z.string(), z.unknown())),
      }),
    )
    .check(z.minLength(1)),
})
export type JwsGeneral = z.infer<typeof JwsGeneralSchema>

/** The protected header every signature carries. */
export interface ManifestProtectedHeader {
  alg: typeof JWS_ALG
  kid: string
  typ: typeof JWS_TYP
}

/** A public signing key as clients pin it (`[[trust.keys]]`) and the JWKS lists it. */
export const PublicKeySchema = z.object({
  kid: z.string().check(z.minLength(1), z.maxLength(128)),
  x: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/, 'x must be a base64url Ed25519 public key (43 characters)')),
})
export type PublicKey = z.infer<typeof PublicKeySchema>

// Byte counting by code point, so the contract needs no platform globals (TextEncoder).
function utf8Width(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4
}

export function utf8Length(s: string): number {
  let n = 0
  for (const ch of s) n += utf8Width(ch.codePointAt(0)!)
  return n
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  let n = 0
  let end = 0
  for (const ch of s) {
    n += utf8Width(ch.codePointAt(0)!)
    if (n > maxBytes) return s.slice(0, end)
    end += ch.length
  }
  return s
}
