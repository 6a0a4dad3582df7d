// The only file that touches the manifest signing keys: parses MANIFEST_SIGNING_KEY (one
// private Ed25519 JWK or a JSON array of them during rotation), signs manifests (and release
// statements, under their own `typ`) with every key and publishes the public halves as a JWKS. Key material never leaves this module, and no
// error message ever contains the secret's value.
import { GeneralSign, flattenedVerify, importJWK } from 'jose'
import * as z from 'zod/mini'
import { JWS_ALG, JWS_TYP } from '../contract/manifest.ts'
import type { RELEASE_JWS_TYP } from '../contract/release-manifest.ts'
import { ConfigError } from './errors.ts'

const B64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/

const PrivateJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().check(z.regex(B64URL_32_BYTES)),
  d: z.string().check(z.regex(B64URL_32_BYTES)),
  kid: z.string().check(z.minLength(1), z.maxLength(128)),
  alg: z.optional(z.literal('EdDSA')),
})

export interface PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  kid: string
  alg: 'EdDSA'
  use: 'sig'
}

export interface SigningKeys {
  /** The key ids in configuration order; the scheduled re-sign compares them with a manifest's. */
  readonly kids: readonly string[]
  readonly publicJwks: readonly PublicJwk[]
  /**
   * Signs payload bytes with every key; returns the JWS in General JSON Serialization. `typ`
   * names the document (a channel manifest unless told otherwise), so that a client can tell a
   * release statement from a channel manifest signed by the same keys.
   */
  sign(payload: Uint8Array, typ?: SignedTyp): Promise<string>
}

/** The documents these keys sign: the channel manifest and the release statement. */
export type SignedTyp = typeof JWS_TYP | typeof RELEASE_JWS_TYP

const NAME = 'MANIFEST_SIGNING_KEY'

// One cache entry: the secret rarely changes within an isolate's life, and importing keys
// costs a WebCrypto round trip per key.
let cached: { raw: string; keys: Promise<SigningKeys> } | null = null

/** The configured signing keys, or a ConfigError naming the secret (never its value). */
export function loadSigningKeys(env: { MANIFEST_SIGNING_KEY?: string }): Promise<SigningKeys> {
  const raw = env.MANIFEST_SIGNING_KEY
  if (cached && cached.raw === raw) return cached.keys
  const keys = parseSigningKeys(raw)
  cached = { raw: raw ?? '', keys }
  // A failure is not cached: a fixed secret is picked up by the next request.
  keys.catch(() => {
    if (cached?.keys === keys) cached = null
  })
  return keys
}

async function parseSigningKeys(raw: string | undefined): Promise<SigningKeys> {
  if (!raw || raw.trim() === '') throw new ConfigError(`secret ${NAME} is not set (a private Ed25519 JWK with "kid", or a JSON array of them)`)
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new ConfigError(`secret ${NAME} is not valid JSON (expected a private Ed25519 JWK with "kid", or a JSON array of them)`)
  }
  const list = Array.isArray(parsed) ? parsed : [parsed]
  if (list.length === 0) throw new ConfigError(`secret ${NAME} is an empty array`)
  if (list.length > 8) throw new ConfigError(`secret ${NAME} holds more than 8 keys`)

  const keys: { kid: string; key: CryptoKey; publicJwk: PublicJwk }[] = []
  for (const [i, item] of list.entries()) {
    const where = list.length > 1 ? `key #${i + 1} of secret ${NAME}` : `secret ${NAME}`
    const jwk = PrivateJwkSchema.safeParse(item)
    // Only the field names go into the message, never values.
    if (!jwk.success) {
      const fields = [...new Set(jwk.error.issues.map((issue) => issue.path.join('.') || '(root)'))].join(', ')
      throw new ConfigError(`${where} is not a private Ed25519 JWK with kty "OKP", crv "Ed25519", x, d and kid (check: ${fields})`)
    }
    if (keys.some((k) => k.kid === jwk.data.kid)) throw new ConfigError(`${where}: kid ${JSON.stringify(jwk.data.kid)} appears twice`)
    let key: CryptoKey
    try {
      key = (await importJWK({ ...jwk.data, alg: JWS_ALG }, JWS_ALG)) as CryptoKey
    } catch {
      throw new ConfigError(`${where} could not be imported as an Ed25519 private key`)
    }
    const publicJwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.data.x, kid: jwk.data.kid, alg: 'EdDSA', use: 'sig' }
    await assertPairMatches(key, publicJwk, where)
    keys.push({ kid: jwk.data.kid, key, publicJwk })
  }

  return {
    kids: keys.map((k) => k.kid),
    publicJwks: keys.map((k) => k.publicJwk),
    async sign(payload, typ = JWS_TYP) {
      const jws = new GeneralSign(payload)
      for (const k of keys) {
        const header: { alg: typeof JWS_ALG; kid: string; typ: SignedTyp } = { alg: JWS_ALG, kid: k.kid, typ }
        jws.addSignature(k.key).setProtectedHeader({ ...header })
      }
      return JSON.stringify(await jws.sign())
    },
  }
}

// WebCrypto does not check that a JWK's `x` belongs to its `d`. A mismatch would publish a
// JWKS that verifies nothing and leave every client refusing every manifest, so it is caught
// here, at load time, by signing a probe and verifying it with the public half.
async function assertPairMatches(privateKey: CryptoKey, publicJwk: PublicJwk, where: string): Promise<void> {
  const probe = new TextEncoder().encode('cco signing key self-check')
  try {
    const jws = new GeneralSign(probe)
    jws.addSignature(privateKey).setProtectedHeader({ alg: JWS_ALG })
    const signed = await jws.sign()
    const sig = signed.signatures[0]!
    const publicKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: publicJwk.x }, JWS_ALG)
    await flattenedVerify({ payload: signed.payload, protected: sig.protected, signature: sig.signature }, publicKey)
  } catch {
    throw new ConfigError(`${where}: its public part "x" does not match its private part "d"`)
  }
}
