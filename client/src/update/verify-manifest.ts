// Decides whether manifest bytes can be trusted (contract/README.md). Pure apart from hashing: it
// reads nothing and writes nothing; the caller persists the trust state only after a pass.
//
// Order of the rules, each a RefusedError (exit 4) naming the rule:
//   size (≤ 64 KiB, before any parsing) → envelope (JWS General JSON) → a signature by a
//   pinned key (unknown kids are skipped, never fetched) with typ cco-manifest+json and alg
//   EdDSA, verified by jose → payload schema version → payload shape → product → channel →
//   seq never back (same seq only with identical bytes) → expiry (5 min of skew).
// The last two depend on the trust state and the clock, not on the bytes: checkFreshness()
// applies them again to a manifest this process already verified (same bytes, same keys),
// so that the signature of the same bytes is not checked twice in one run.
import { createHash } from 'node:crypto'
import {
  base64url,
  generalVerify,
  importJWK,
  type CryptoKey,
  type GeneralVerifyGetKey,
  type GeneralVerifyResult,
  type JWSHeaderParameters,
  type KeyObject,
} from 'jose'
import {
  EXPIRY_SKEW_MS,
  JWS_ALG,
  JWS_TYP,
  JwsGeneralSchema,
  MANIFEST_MAX_BYTES,
  MANIFEST_SCHEMA_VERSION,
  ManifestPayloadSchema,
  PRODUCT,
  type ManifestPayload,
  type PublicKey,
} from '../../../contract/manifest.ts'
import { firstIssue } from '../../../contract/issues.ts'
import { RefusedError, type RefusalRule } from '../errors.ts'

/** What the client remembers about the last manifest it accepted on a channel. */
export interface TrustedState {
  seq: number
  /** sha256 (hex) of the exact bytes that were accepted. */
  sha256: string
}

export interface VerifyManifestInput {
  bytes: Uint8Array
  channel: string
  /** Pinned keys: built into the binary plus `[[trust.keys]]`. Nothing else is trusted. */
  keys: readonly PublicKey[]
  trusted: TrustedState | null
  now: Date
  product?: string
}

export interface VerifiedManifest {
  payload: ManifestPayload
  sha256: string
  kid: string
}

function refuse(rule: RefusalRule, message: string): never {
  throw new RefusedError(rule, `Manifest refused (${rule}): ${message}`)
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeHeader(protectedB64: string): JWSHeaderParameters | null {
  try {
    const h: unknown = JSON.parse(utf8.decode(base64url.decode(protectedB64)))
    return h && typeof h === 'object' && !Array.isArray(h) ? (h as JWSHeaderParameters) : null
  } catch {
    return null
  }
}

const keyCache = new Map<string, Promise<CryptoKey | KeyObject | Uint8Array>>()
function importPinned(key: PublicKey): Promise<CryptoKey | KeyObject | Uint8Array> {
  const id = `${key.kid}:${key.x}`
  let k = keyCache.get(id)
  if (!k) {
    k = importJWK({ kty: 'OKP', crv: 'Ed25519', x: key.x }, JWS_ALG)
    keyCache.set(id, k)
  }
  return k
}

/** What a signed document is: its `typ`, the word its refusals start with, its payload schema number. */
export interface SignedDocumentKind {
  typ: string
  /** `Manifest`, `Release manifest`: refusals read `<label> refused (<rule>): …`. */
  label: string
  schemaVersion: number
}

const CHANNEL_MANIFEST: SignedDocumentKind = { typ: JWS_TYP, label: 'Manifest', schemaVersion: MANIFEST_SCHEMA_VERSION }

/**
 * Rules 1–4a, shared by the channel manifest and the release statement (update/verify-release.ts):
 * size, envelope, a signature by a pinned key with this document's `typ`, a payload that is JSON
 * with a schema number this client knows. Returns the parsed payload (shape not yet checked)
 * and the kid whose signature was verified.
 */
export async function verifySignedDocument(bytes: Uint8Array, keys: readonly PublicKey[], kind: SignedDocumentKind): Promise<{ raw: unknown; kid: string }> {
  const refuse = (rule: RefusalRule, message: string): never => {
    throw new RefusedError(rule, `${kind.label} refused (${rule}): ${message}`)
  }

  // 1. Size first: nothing larger than the cap is ever parsed (endless-data attack).
  if (bytes.length > MANIFEST_MAX_BYTES) refuse('size', `${bytes.length} bytes is more than the ${MANIFEST_MAX_BYTES}-byte limit`)

  // 2. The envelope.
  let json: unknown
  try {
    json = JSON.parse(utf8.decode(bytes))
  } catch {
    refuse('format', 'not a JSON document (truncated or garbage)')
  }
  const envelope = JwsGeneralSchema.safeParse(json)
  if (!envelope.success) return refuse('format', 'not a JWS in General JSON Serialization')

  // 3. Signatures. Only pinned kids are candidates; unknown kids are skipped (key rotation
  // adds signatures this client does not know). The protected header is integrity-protected,
  // so typ/alg are checked on the header that was actually verified (below) as well. The typ
  // is what keeps a channel manifest and a release statement, signed by the same keys, apart.
  const pinned = new Map(keys.map((k) => [k.kid, k]))
  if (pinned.size === 0) refuse('untrusted-key', 'no manifest signing key is pinned: add a [[trust.keys]] table (kid, x) to the config')
  const headers = envelope.data.signatures.map((s) => decodeHeader(s.protected))
  const candidates = headers.filter((h): h is JWSHeaderParameters => !!h && typeof h.kid === 'string' && pinned.has(h.kid))
  if (candidates.length === 0) {
    const kids = headers.map((h) => (h && typeof h.kid === 'string' ? h.kid : '(none)')).join(', ')
    const known = [...pinned.keys()].join(', ') || '(none)'
    refuse('untrusted-key', `not signed by a pinned key (signed by kid ${kids}; pinned: ${known})`)
  }
  if (!candidates.some((h) => h.typ === kind.typ && h.alg === JWS_ALG)) {
    const h = candidates[0]!
    refuse('typ', `signature header has typ ${JSON.stringify(h.typ)} and alg ${JSON.stringify(h.alg)}; expected typ "${kind.typ}" and alg "${JWS_ALG}"`)
  }
  const resolveKey: GeneralVerifyGetKey = async (header) => {
    const key = header?.kid !== undefined ? pinned.get(header.kid) : undefined
    // Throwing skips this signature; jose then tries the next one.
    if (!key || header?.typ !== kind.typ || header.alg !== JWS_ALG) throw new Error(`not a pinned ${kind.typ} key`)
    return importPinned(key)
  }
  let verified: GeneralVerifyResult
  try {
    verified = await generalVerify(envelope.data, resolveKey, { algorithms: [JWS_ALG] })
  } catch {
    return refuse('signature', 'no valid signature by a pinned key (payload tampered with, or signed by a key that is not pinned)')
  }
  const header: JWSHeaderParameters = verified.protectedHeader ?? {}
  if (header.typ !== kind.typ || header.alg !== JWS_ALG || typeof header.kid !== 'string' || !pinned.has(header.kid)) {
    refuse('typ', `the verified signature does not carry the ${kind.typ} header`)
  }

  // 4a. The payload: JSON with a schema version this client knows (its shape is the caller's).
  let raw: unknown
  try {
    raw = JSON.parse(utf8.decode(verified.payload))
  } catch {
    refuse('payload', 'payload is not JSON')
  }
  const schema = (raw as { schema?: unknown } | null)?.schema
  if (typeof schema === 'number' && schema !== kind.schemaVersion) {
    refuse('schema', `${kind.label.toLowerCase()} schema ${schema} is newer than this client understands; update manually`)
  }
  return { raw, kid: header.kid! }
}

export async function verifyManifest(input: VerifyManifestInput): Promise<VerifiedManifest> {
  const { bytes, channel } = input
  const product = input.product ?? PRODUCT
  const { raw, kid } = await verifySignedDocument(bytes, input.keys, CHANNEL_MANIFEST)

  // 4b. Its shape.
  const parsed = ManifestPayloadSchema.safeParse(raw)
  if (!parsed.success) refuse('payload', `payload does not match schema ${MANIFEST_SCHEMA_VERSION}: ${firstIssue(parsed.error)}`)
  const payload = parsed.data

  // 5. It must be the manifest that was asked for (a valid beta manifest at the stable URL is refused).
  if (payload.product !== product) refuse('product', `product is ${JSON.stringify(payload.product)}, expected ${JSON.stringify(product)}`)
  if (payload.channel !== channel) refuse('channel', `channel is ${JSON.stringify(payload.channel)}, expected ${JSON.stringify(channel)}`)

  return checkFreshness({ payload, sha256: sha256Hex(bytes), kid }, input)
}

/**
 * Rules 6 and 7 for a manifest whose bytes already passed the others: against the trust state
 * (it may have moved since) and the clock (it may have expired since).
 */
export function checkFreshness(verified: VerifiedManifest, o: Pick<VerifyManifestInput, 'trusted' | 'now'>): VerifiedManifest {
  const { payload, sha256 } = verified
  // 6. seq never goes back (rollback attack); a replay of the same seq must be byte-identical.
  if (o.trusted) {
    if (payload.seq < o.trusted.seq) {
      refuse('seq', `seq ${payload.seq} is lower than the last accepted seq ${o.trusted.seq} (an old manifest replayed?)`)
    }
    if (payload.seq === o.trusted.seq && sha256 !== o.trusted.sha256) {
      refuse('seq', `seq ${payload.seq} was already accepted with different content`)
    }
  }

  // 7. Freshness (freeze attack): a live broker re-signs long before expiry.
  const expires = Date.parse(payload.expires_at)
  if (o.now.getTime() > expires + EXPIRY_SKEW_MS) refuse('expired', `it expired at ${payload.expires_at}`)

  return verified
}
