// Generates the broker's development secrets: a webhook secret, an Ed25519 signing key and the
// status page's session key.
// Used by `npm start` (written once into .dev.vars) and by tests that start `wrangler dev`.
import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair } from 'jose'

export interface SigningJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
  d: string
  kid: string
  alg: 'EdDSA'
}

export interface DevSecrets {
  webhookSecret: string
  /** The private key, as the broker's MANIFEST_SIGNING_KEY secret holds it. */
  signingKey: SigningJwk
  /** What clients pin: `[[trust.keys]]` with `kid` and `x`. */
  publicKey: { kid: string; x: string }
  /** The status page's session key, as the broker's STATUS_SESSION_KEY secret holds it. */
  statusSessionKey: string
}

export async function generateSigningKey(kid = `dev-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const jwk = await exportJWK(privateKey)
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x || !jwk.d) throw new Error('unexpected JWK from jose')
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d, kid, alg: 'EdDSA' }
}

export async function generateDevSecrets(): Promise<DevSecrets> {
  const signingKey = await generateSigningKey()
  return {
    webhookSecret: randomBytes(32).toString('hex'),
    signingKey,
    publicKey: { kid: signingKey.kid, x: signingKey.x },
    statusSessionKey: newStatusSessionKey(),
  }
}

/** 32 random bytes, base64url: a STATUS_SESSION_KEY. */
export function newStatusSessionKey(): string {
  return randomBytes(32).toString('base64url')
}
