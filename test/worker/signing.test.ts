// MANIFEST_SIGNING_KEY parsing and multi-key signing (rotation), in the Workers runtime.
import { generalVerify, importJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../worker/errors.ts'
import { loadSigningKeys } from '../../worker/signing.ts'
import testKeys from './fixtures/test-signing-keys.json' with { type: 'json' }

const { primary, rotated } = testKeys

async function configError(raw: string | undefined): Promise<ConfigError> {
  const err = await loadSigningKeys({ MANIFEST_SIGNING_KEY: raw }).then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ConfigError)
  return err as ConfigError
}

describe('MANIFEST_SIGNING_KEY', () => {
  it('signs with every key of an array, each signature carrying its own kid', async () => {
    const keys = await loadSigningKeys({ MANIFEST_SIGNING_KEY: JSON.stringify([rotated, primary]) })
    expect(keys.kids).toEqual(['test-key-b', 'test-key-a'])
    const jws = JSON.parse(await keys.sign(new TextEncoder().encode('{"hello":1}')))
    expect(jws.signatures).toHaveLength(2)
    for (const [i, jwk] of [rotated, primary].entries()) {
      const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'EdDSA')
      const one = await generalVerify({ payload: jws.payload, signatures: [jws.signatures[i]] }, key)
      expect(one.protectedHeader).toEqual({ alg: 'EdDSA', kid: jwk.kid, typ: 'cco-manifest+json' })
    }
    expect(keys.publicJwks.map((k) => k.kid)).toEqual(['test-key-b', 'test-key-a'])
    expect(JSON.stringify(keys.publicJwks)).not.toContain(primary.d)
  })

  it('names the secret, and never its value, when it is missing, not JSON or not an Ed25519 private key', async () => {
    expect((await configError(undefined)).message).toMatch(/^secret MANIFEST_SIGNING_KEY is not set/)
    expect((await configError('{not json')).message).toMatch(/^secret MANIFEST_SIGNING_KEY is not valid JSON/)
    const noD = await configError(JSON.stringify({ ...primary, d: undefined }))
    expect(noD.message).toMatch(/^secret MANIFEST_SIGNING_KEY is not a private Ed25519 JWK .*\(check: d\)$/)
    const rsa = await configError(JSON.stringify({ kty: 'RSA', n: 'secret-modulus', e: 'AQAB', d: 'secret-exponent', kid: 'r' }))
    expect(rsa.message).not.toMatch(/secret-modulus|secret-exponent/)
    expect((await configError('[]')).message).toBe('secret MANIFEST_SIGNING_KEY is an empty array')
    expect(rsa.status).toBe(500)
    expect(rsa.code).toBe('misconfigured')
  })

  it('refuses a key whose public part does not belong to its private part', async () => {
    const mixed = await configError(JSON.stringify({ ...primary, x: rotated.x }))
    expect(mixed.message).toBe('secret MANIFEST_SIGNING_KEY: its public part "x" does not match its private part "d"')
    expect(mixed.message).not.toContain(primary.d)
  })

  it('refuses two keys with one kid', async () => {
    const dup = await configError(JSON.stringify([primary, { ...rotated, kid: primary.kid }]))
    expect(dup.message).toBe('key #2 of secret MANIFEST_SIGNING_KEY: kid "test-key-a" appears twice')
  })
})
