// Signs manifests the way the broker does (jose GeneralSign, Ed25519, typ cco-manifest+json)
// with keys generated per test, and builds payloads with sensible defaults.
import { createHash } from 'node:crypto'
import { GeneralSign, importJWK } from 'jose'
import { JWS_TYP, type Asset, type ManifestPayload } from '../contract/manifest.ts'
import { generateSigningKey, type SigningJwk } from '../scripts/lib/dev-secrets.ts'

export interface Signer {
  jwk: SigningJwk
  publicKey: { kid: string; x: string }
}

export async function createSigner(kid?: string): Promise<Signer> {
  const jwk = await generateSigningKey(kid)
  return { jwk, publicKey: { kid: jwk.kid, x: jwk.x } }
}

export interface SignOptions {
  /** Header overrides for every signature (e.g. a wrong typ). */
  header?: Record<string, unknown>
  /** Claim this kid while signing with the signer's key (an unpinned key posing as a pinned one). */
  kid?: string
}

/** One General JSON JWS signed by each signer. */
export async function signManifest(payload: unknown, signers: Signer[], options: SignOptions = {}): Promise<Buffer> {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(JSON.stringify(payload))
  const jws = new GeneralSign(bytes)
  for (const s of signers) {
    const key = await importJWK(s.jwk, 'EdDSA')
    jws.addSignature(key).setProtectedHeader({ alg: 'EdDSA', kid: options.kid ?? s.jwk.kid, typ: JWS_TYP, ...options.header })
  }
  return Buffer.from(JSON.stringify(await jws.sign()))
}

export function sha256(buf: Buffer | string): string {
  return createHash('sha256').update(buf).digest('hex')
}

const DAY = 86_400_000

export interface PayloadOptions {
  channel?: string
  seq?: number
  version?: string | null
  assets?: Record<string, Asset>
  notes?: string
  percent?: number
  halted?: boolean
  yanked?: { version: string; reason: string }[]
  expiresAt?: Date
  product?: string
  schema?: number
}

export function manifestPayload(o: PayloadOptions = {}): ManifestPayload & Record<string, unknown> {
  const now = Date.now()
  const version = o.version === undefined ? '2026.1.2' : o.version
  return {
    schema: (o.schema ?? 1) as 1,
    product: o.product ?? 'cco',
    channel: o.channel ?? 'stable',
    seq: o.seq ?? 1,
    issued_at: new Date(now - 60_000).toISOString(),
    expires_at: (o.expiresAt ?? new Date(now + 7 * DAY)).toISOString(),
    release:
      version === null
        ? null
        : {
            version,
            tag: `v${version}`,
            published_at: new Date(now - DAY).toISOString(),
            notes: o.notes ?? `Release ${version}`,
            notes_url: `https://github.com/cco-dev/cco/releases/tag/v${version}`,
            assets: o.assets ?? {},
          },
    rollout: { percent: o.percent ?? 100, halted: o.halted ?? false },
    yanked: o.yanked ?? [],
  }
}
