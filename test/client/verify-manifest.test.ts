// Every manifest trust rule (contract/README.md), against the pure verifier with manifests signed here.
import { beforeAll, describe, expect, it } from 'vitest'
import { MANIFEST_MAX_BYTES } from '../../contract/manifest.ts'
import { RefusedError } from '../../client/src/errors.ts'
import { sha256Hex, verifyManifest, type VerifyManifestInput } from '../../client/src/update/verify-manifest.ts'
import { createSigner, manifestPayload, signManifest, type Signer } from '../../support/signed-manifest.ts'

let pinned: Signer
let other: Signer
const now = new Date()

beforeAll(async () => {
  pinned = await createSigner('pinned-1')
  other = await createSigner('other-1')
})

function input(bytes: Buffer, extra: Partial<VerifyManifestInput> = {}): VerifyManifestInput {
  return { bytes, channel: 'stable', keys: [pinned.publicKey], trusted: null, now, ...extra }
}

async function refusal(p: Promise<unknown>): Promise<RefusedError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err, 'expected a refusal').toBeInstanceOf(RefusedError)
  expect((err as RefusedError).exitCode).toBe(4)
  return err as RefusedError
}

describe('verifyManifest', () => {
  it('accepts a manifest signed by a pinned key and returns its payload and hash', async () => {
    const bytes = await signManifest(manifestPayload({ seq: 7 }), [pinned])
    const v = await verifyManifest(input(bytes))
    expect(v.payload.seq).toBe(7)
    expect(v.kid).toBe('pinned-1')
    expect(v.sha256).toBe(sha256Hex(bytes))
  })

  it('accepts a manifest that also carries a signature by a key it does not know (rotation)', async () => {
    const bytes = await signManifest(manifestPayload(), [other, pinned])
    expect((await verifyManifest(input(bytes))).kid).toBe('pinned-1')
  })

  it('refuses a manifest whose seq went back', async () => {
    const bytes = await signManifest(manifestPayload({ seq: 4 }), [pinned])
    const e = await refusal(verifyManifest(input(bytes, { trusted: { seq: 5, sha256: 'a'.repeat(64) } })))
    expect(e.rule).toBe('seq')
    expect(e.message).toMatch(/seq 4 is lower than the last accepted seq 5/)
  })

  it('refuses the same seq with different bytes, and accepts the same bytes again', async () => {
    const first = await signManifest(manifestPayload({ seq: 5, notes: 'one' }), [pinned])
    const second = await signManifest(manifestPayload({ seq: 5, notes: 'two' }), [pinned])
    const trusted = { seq: 5, sha256: sha256Hex(first) }
    expect((await refusal(verifyManifest(input(second, { trusted })))).rule).toBe('seq')
    expect((await verifyManifest(input(first, { trusted }))).payload.seq).toBe(5)
  })

  it('refuses an expired manifest beyond 5 minutes of skew and accepts one within it', async () => {
    const expired = await signManifest(manifestPayload({ expiresAt: new Date(now.getTime() - 6 * 60_000) }), [pinned])
    expect((await refusal(verifyManifest(input(expired)))).rule).toBe('expired')
    const skewed = await signManifest(manifestPayload({ expiresAt: new Date(now.getTime() - 4 * 60_000) }), [pinned])
    await expect(verifyManifest(input(skewed))).resolves.toBeTruthy()
  })

  it('refuses a valid beta manifest served for stable (wrong channel)', async () => {
    const bytes = await signManifest(manifestPayload({ channel: 'beta' }), [pinned])
    const e = await refusal(verifyManifest(input(bytes)))
    expect(e.rule).toBe('channel')
  })

  it('refuses a manifest for another product', async () => {
    const bytes = await signManifest(manifestPayload({ product: 'other' }), [pinned])
    expect((await refusal(verifyManifest(input(bytes)))).rule).toBe('product')
  })

  it('refuses a manifest signed only by an unknown kid', async () => {
    const bytes = await signManifest(manifestPayload(), [other])
    const e = await refusal(verifyManifest(input(bytes)))
    expect(e.rule).toBe('untrusted-key')
    expect(e.message).toMatch(/other-1/)
  })

  it('refuses a valid signature by an unpinned key that claims a pinned kid', async () => {
    const bytes = await signManifest(manifestPayload(), [other], { kid: 'pinned-1' })
    expect((await refusal(verifyManifest(input(bytes)))).rule).toBe('signature')
  })

  it('refuses a tampered payload', async () => {
    const bytes = await signManifest(manifestPayload({ seq: 3 }), [pinned])
    const jws = JSON.parse(bytes.toString()) as { payload: string }
    const payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString()) as { seq: number }
    payload.seq = 99
    jws.payload = Buffer.from(JSON.stringify(payload)).toString('base64url')
    expect((await refusal(verifyManifest(input(Buffer.from(JSON.stringify(jws)))))).rule).toBe('signature')
  })

  it('refuses a manifest over 64 KiB before parsing it', async () => {
    const bytes = Buffer.alloc(MANIFEST_MAX_BYTES + 1, 0x20)
    expect((await refusal(verifyManifest(input(bytes)))).rule).toBe('size')
  })

  it('refuses truncated and garbage documents', async () => {
    const bytes = await signManifest(manifestPayload(), [pinned])
    expect((await refusal(verifyManifest(input(bytes.subarray(0, bytes.length - 10))))).rule).toBe('format')
    expect((await refusal(verifyManifest(input(Buffer.from('<html>502 Bad Gateway</html>'))))).rule).toBe('format')
    expect((await refusal(verifyManifest(input(Buffer.from('{"payload":"x","signatures":[]}'))))).rule).toBe('format')
    expect((await refusal(verifyManifest(input(Buffer.from([0xff, 0xfe, 0x00]))))).rule).toBe('format')
  })

  it('refuses a signature whose typ is not cco-manifest+json', async () => {
    const bytes = await signManifest(manifestPayload(), [pinned], { header: { typ: 'JWT' } })
    expect((await refusal(verifyManifest(input(bytes)))).rule).toBe('typ')
  })

  it('refuses a newer payload schema with a message to update by hand', async () => {
    const bytes = await signManifest({ ...manifestPayload(), schema: 2 }, [pinned])
    const e = await refusal(verifyManifest(input(bytes)))
    expect(e.message).toMatch(/manifest schema 2 is newer than this client understands; update manually/)
  })

  it('refuses a payload that does not match the schema', async () => {
    const bytes = await signManifest({ ...manifestPayload(), rollout: { percent: 150, halted: false } }, [pinned])
    expect((await refusal(verifyManifest(input(bytes)))).rule).toBe('payload')
  })
})
