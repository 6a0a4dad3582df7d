// Manifest verification (client/src/update/verify-manifest.ts) on random and mutated input:
// it only ever throws RefusedError, and it never accepts a mutated manifest.
//
// "Mutated" is defined on what the signature covers (RFC 7515 §5.2): the manifest counts as
// unmodified when its `payload` string is the original one and some signature entry carries
// the original `protected` string and a `signature` that decodes to the original signature
// bytes. Anything that keeps those three (whitespace between JSON tokens, reordered or
// duplicated signature entries, an extra unprotected header) may still verify, and must then
// yield exactly the original payload. With the original already trusted (same seq), nothing
// but the identical bytes is accepted.
import fc from 'fast-check'
import { base64url } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { ManifestPayloadSchema, type ManifestPayload } from '../../contract/manifest.ts'
import { RefusedError } from '../../client/src/errors.ts'
import { sha256Hex, verifyManifest, type TrustedState } from '../../client/src/update/verify-manifest.ts'
import { fuzzParams, fuzzTimeout } from '../support/fuzz-params.ts'
import { createSigner, manifestPayload, sha256, signManifest, type Signer } from '../../support/signed-manifest.ts'
import { setPath } from '../support/fuzz-paths.ts'

interface SignatureEntry {
  protected: string
  signature: string
  header?: Record<string, unknown>
}
interface Envelope {
  payload: string
  signatures: SignatureEntry[]
  [extra: string]: unknown
}

const NOW = new Date('2026-11-26T20:00:00Z')
const SEQ = 5
let pinned: Signer
let other: Signer
/** Signed by the pinned key alone, and by an unknown key plus the pinned one (rotation). */
let originals: { bytes: Buffer; envelope: Envelope; payload: ManifestPayload }[]

beforeAll(async () => {
  pinned = await createSigner('pinned-1')
  other = await createSigner('other-1')
  const payload = manifestPayload({
    seq: SEQ,
    version: '2026.11.3',
    expiresAt: new Date(NOW.getTime() + 7 * 86_400_000),
    assets: {
      'linux-x86_64': {
        name: 'cco-2026.11.3-linux-x86_64.tar.gz',
        url: 'https://broker.example/v1/assets/2026.11.3/cco-2026.11.3-linux-x86_64.tar.gz',
        size: 41_234_567,
        sha256: sha256('archive'),
      },
    },
    yanked: [{ version: '2026.11.2', reason: 'crashes on start' }],
  })
  originals = []
  for (const signers of [[pinned], [other, pinned]]) {
    const bytes = await signManifest(payload, signers)
    originals.push({ bytes, envelope: JSON.parse(bytes.toString()) as Envelope, payload: ManifestPayloadSchema.parse(payload) })
  }
})

type Outcome = { ok: true; payload: ManifestPayload } | { ok: false; error: unknown }

async function verify(bytes: Uint8Array, trusted: TrustedState | null = null): Promise<Outcome> {
  return verifyManifest({ bytes, channel: 'stable', keys: [pinned.publicKey], trusted, now: NOW }).then(
    (v) => ({ ok: true as const, payload: v.payload }),
    (error: unknown) => ({ ok: false as const, error }),
  )
}

function expectRefusal(o: Outcome, what: string): void {
  if (o.ok) throw new Error(`accepted ${what}`)
  if (!(o.error instanceof RefusedError)) throw new Error(`threw something other than RefusedError for ${what}: ${String(o.error)}`, { cause: o.error })
  expect(o.error.exitCode).toBe(4)
}

function joseDecode(s: unknown): Buffer | null {
  if (typeof s !== 'string') return null
  try {
    return Buffer.from(base64url.decode(s))
  } catch {
    return null
  }
}

/** True when `bytes` still carries the original payload and the pinned signature (see top). */
function unmodified(bytes: Uint8Array, original: Envelope): boolean {
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    return false
  }
  const env = doc as Partial<Envelope> | null
  if (!env || env.payload !== original.payload || !Array.isArray(env.signatures)) return false
  const pinnedEntry = original.signatures[original.signatures.length - 1]!
  const sig = joseDecode(pinnedEntry.signature)!
  return env.signatures.some((s: Partial<SignatureEntry> | null) => s?.protected === pinnedEntry.protected && joseDecode(s.signature)?.equals(sig) === true)
}

// ---- mutations -------------------------------------------------------------------------

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const PAYLOAD_PATHS = [
  'schema', 'product', 'channel', 'seq', 'issued_at', 'expires_at', 'release', 'release.version', 'release.tag',
  'release.published_at', 'release.notes', 'release.notes_url', 'release.assets', 'release.assets.linux-x86_64',
  'release.assets.linux-x86_64.url', 'release.assets.linux-x86_64.size', 'release.assets.linux-x86_64.sha256',
  'rollout', 'rollout.percent', 'rollout.halted', 'yanked', 'yanked.0.version', 'extra',
]
const HEADER_FIELDS = ['alg', 'kid', 'typ', 'crit', 'b64', 'jwk', 'x5u', 'zip', 'extra']
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(null, 0, -1, 1.5, 1e300, '', 'EdDSA', 'none', 'HS256', 'cco-manifest+json', 'JWT', 'pinned-1', 'other-1', 'beta', 'stable', true, false, [], {}),
)
const field = fc.constantFrom('payload', 'protected', 'signature')

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip'), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('insert-text'), at: fc.nat(), text: fc.constantFrom(' ', '\n', '"', ',', '{', '}', '[', ']', ':', '\\', '=', 'A', '\u00e9', '\\u0041', '"payload":"', ',"payload":"e30"') }),
  fc.record({ kind: fc.constant('delete'), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate'), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }), to: fc.nat() }),
  fc.record({ kind: fc.constant('b64-swap'), field, sig: fc.nat(), at: fc.nat(), char: fc.constantFrom(...B64URL.split(''), '+', '/', '=', ' ', '.') }),
  fc.record({ kind: fc.constant('b64-drop'), field, sig: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('payload-field'), path: fc.constantFrom(...PAYLOAD_PATHS), value: fc.option(jsonish, { nil: undefined }) }),
  fc.record({ kind: fc.constant('header-field'), sig: fc.nat(), name: fc.constantFrom(...HEADER_FIELDS), value: fc.option(jsonish, { nil: undefined }) }),
  fc.record({ kind: fc.constant('unprotected'), sig: fc.nat(), header: fc.dictionary(fc.constantFrom(...HEADER_FIELDS), jsonish, { maxKeys: 2 }) }),
  fc.record({ kind: fc.constant('signatures'), op: fc.constantFrom('reverse', 'duplicate', 'drop-last', 'drop-first', 'swap-values', 'empty', 'cross-protected') }),
  fc.record({ kind: fc.constant('envelope-field'), name: fc.constantFrom('payload', 'signatures', 'protected', 'signature', 'header', 'extra'), value: fc.option(jsonish, { nil: undefined }) }),
  fc.record({ kind: fc.constant('reformat'), indent: fc.constantFrom(0, 1, 2, '\t') }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

const mod = (n: number, len: number) => (len === 0 ? 0 : n % len)

/** Applies one mutation; JSON-level mutations of something that no longer parses do nothing. */
function mutate(bytes: Buffer, m: Mutation): Buffer {
  const len = bytes.length
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(bytes)
      if (len) out[mod(m.at, len)]! ^= 1 << m.bit
      return out
    }
    case 'insert': {
      const at = mod(m.at, len + 1)
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)])
    }
    case 'insert-text': {
      const at = mod(m.at, len + 1)
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(m.text), bytes.subarray(at)])
    }
    case 'delete': {
      const at = mod(m.at, len)
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)])
    }
    case 'truncate':
      return bytes.subarray(0, mod(m.at, len))
    case 'duplicate': {
      const at = mod(m.at, len)
      const piece = bytes.subarray(at, at + m.length)
      const to = mod(m.to, len + 1)
      return Buffer.concat([bytes.subarray(0, to), piece, bytes.subarray(to)])
    }
  }
  let env: Envelope
  try {
    env = JSON.parse(bytes.toString('utf8')) as Envelope
  } catch {
    return bytes
  }
  if (!env || typeof env !== 'object' || typeof env.payload !== 'string' || !Array.isArray(env.signatures) || env.signatures.length === 0) return bytes
  if (!env.signatures.every((e: unknown) => !!e && typeof e === 'object' && !Array.isArray(e))) return bytes
  const sigs = env.signatures
  const sigAt = (n: number) => sigs[mod(n, sigs.length)]!
  const getField = (f: 'payload' | 'protected' | 'signature', n: number): string =>
    f === 'payload' ? env.payload : String(sigAt(n)[f] ?? '')
  const setField = (f: 'payload' | 'protected' | 'signature', n: number, v: string) => {
    if (f === 'payload') env.payload = v
    else sigAt(n)[f] = v
  }
  switch (m.kind) {
    case 'b64-swap': {
      const s = getField(m.field, m.sig)
      const at = mod(m.at, s.length)
      setField(m.field, m.sig, s.slice(0, at) + m.char + s.slice(at + 1))
      break
    }
    case 'b64-drop': {
      const s = getField(m.field, m.sig)
      const at = mod(m.at, s.length)
      setField(m.field, m.sig, s.slice(0, at) + s.slice(at + 1))
      break
    }
    case 'payload-field': {
      const decoded = joseDecode(env.payload)
      if (!decoded) return bytes
      let p: unknown
      try {
        p = JSON.parse(decoded.toString('utf8'))
      } catch {
        return bytes
      }
      setPath(p, m.path, m.value)
      env.payload = base64url.encode(JSON.stringify(p) ?? '')
      break
    }
    case 'header-field': {
      const entry = sigAt(m.sig)
      const decoded = joseDecode(entry.protected)
      if (!decoded) return bytes
      let h: Record<string, unknown>
      try {
        h = JSON.parse(decoded.toString('utf8')) as Record<string, unknown>
      } catch {
        return bytes
      }
      if (!h || typeof h !== 'object') return bytes
      if (m.value === undefined) delete h[m.name]
      else h[m.name] = m.value
      entry.protected = base64url.encode(JSON.stringify(h))
      break
    }
    case 'unprotected':
      sigAt(m.sig).header = m.header
      break
    case 'signatures':
      switch (m.op) {
        case 'reverse':
          sigs.reverse()
          break
        case 'duplicate':
          sigs.push(...sigs.map((s) => ({ ...s })))
          break
        case 'drop-last':
          sigs.pop()
          break
        case 'drop-first':
          sigs.shift()
          break
        case 'swap-values': {
          // The first entry's signature value under the last entry's header, and back.
          const a = sigs[0]!
          const b = sigs[sigs.length - 1]!
          ;[a.signature, b.signature] = [b.signature, a.signature]
          break
        }
        case 'empty':
          env.signatures = []
          break
        case 'cross-protected': {
          const a = sigs[0]!
          const b = sigs[sigs.length - 1]!
          ;[a.protected, b.protected] = [b.protected, a.protected]
          break
        }
      }
      break
    case 'envelope-field': {
      const loose = env as Record<string, unknown>
      if (m.value === undefined) delete loose[m.name]
      else loose[m.name] = m.value
      break
    }
    case 'reformat':
      return Buffer.from(JSON.stringify(env, null, m.indent))
  }
  return Buffer.from(JSON.stringify(env))
}

const mutations = fc.record({ which: fc.nat({ max: 1 }), steps: fc.array(mutation, { minLength: 1, maxLength: 3 }) })

// ---- properties ------------------------------------------------------------------------

describe('manifest verification on mutated manifests', () => {
  it('accepts the originals (the oracle is sound)', async () => {
    for (const o of originals) {
      expect((await verify(o.bytes)).ok).toBe(true)
      expect(unmodified(o.bytes, o.envelope)).toBe(true)
    }
  })

  it('accepts changes that keep the signed content (whitespace, order of signatures) only from a fresh client', async () => {
    const o = originals[1]!
    for (const m of [{ kind: 'reformat', indent: 2 }, { kind: 'signatures', op: 'reverse' }, { kind: 'unprotected', sig: 0, header: { extra: 1 } }] as Mutation[]) {
      const bytes = mutate(o.bytes, m)
      expect(bytes.equals(o.bytes)).toBe(false)
      expect(unmodified(bytes, o.envelope)).toBe(true)
      expect(await verify(bytes)).toEqual({ ok: true, payload: o.payload })
      expectRefusal(await verify(bytes, { seq: SEQ, sha256: sha256Hex(o.bytes) }), 'different bytes under an accepted seq')
    }
  })

  it(
    'refuses every mutation of what the signature covers, and only ever with RefusedError',
    async () => {
      await fc.assert(
        fc.asyncProperty(mutations, async ({ which, steps }) => {
          const original = originals[which]!
          const bytes = steps.reduce(mutate, original.bytes)
          const fresh = await verify(bytes)
          if (fresh.ok) {
            expect(unmodified(bytes, original.envelope), 'accepted a manifest whose signed content changed').toBe(true)
            expect(fresh.payload).toEqual(original.payload)
          } else {
            expectRefusal(fresh, 'a mutated manifest')
          }
          // A client that already trusts the original (same seq) accepts only its exact bytes.
          const again = await verify(bytes, { seq: SEQ, sha256: sha256Hex(original.bytes) })
          if (bytes.equals(original.bytes)) expect(again.ok).toBe(true)
          else expectRefusal(again, 'different bytes under an accepted seq')
        }),
        fuzzParams(2),
      )
    },
    fuzzTimeout(1, 2),
  )

  it(
    'refuses a payload re-signed by a key that is not pinned, whatever it says',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...PAYLOAD_PATHS), fc.option(jsonish, { nil: undefined }), fc.boolean(), async (path, value, claimPinnedKid) => {
          const p = structuredClone(originals[0]!.payload) as unknown
          setPath(p, path, value)
          const bytes = await signManifest(p, [other], claimPinnedKid ? { kid: 'pinned-1' } : {})
          expectRefusal(await verify(bytes), 'a manifest signed by an unpinned key')
        }),
        fuzzParams(0.5),
      )
    },
    fuzzTimeout(2, 0.5),
  )
})

describe('manifest verification on random input', () => {
  it(
    'refuses random bytes and random JSON',
    async () => {
      const input = fc.oneof(
        fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
        fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
      )
      await fc.assert(
        fc.asyncProperty(input, async (bytes) => expectRefusal(await verify(bytes), 'random input')),
        fuzzParams(2),
      )
    },
    fuzzTimeout(0.2, 2),
  )

  it(
    'refuses structurally valid JWS envelopes with random headers and signatures',
    async () => {
      const header = fc.record(
        { alg: fc.constantFrom('EdDSA', 'none', 'HS256', 'ES256'), kid: fc.constantFrom('pinned-1', 'other-1', ''), typ: fc.constantFrom('cco-manifest+json', 'JWT'), crit: fc.array(fc.string(), { maxLength: 2 }) },
        { requiredKeys: [] },
      )
      const entry = fc.record({
        protected: fc.oneof(header.map((h) => base64url.encode(JSON.stringify(h))), fc.base64String()),
        signature: fc.oneof(fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => base64url.encode(b)), fc.string()),
      })
      const payload = fc.oneof(
        fc.jsonValue().map((v) => base64url.encode(JSON.stringify(v) ?? '')),
        fc.constant(originals[0]?.envelope.payload ?? ''),
        fc.string(),
      )
      const envelope = fc.record({ payload, signatures: fc.array(entry, { minLength: 1, maxLength: 3 }) })
      await fc.assert(
        fc.asyncProperty(envelope, async (env) => expectRefusal(await verify(Buffer.from(JSON.stringify(env))), 'a forged envelope')),
        fuzzParams(2),
      )
    },
    fuzzTimeout(0.5, 2),
  )

  it(
    'validly signed random payloads: refused with RefusedError, or accepted only when every rule holds',
    async () => {
      const payload = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
        fc
          .tuple(fc.constantFrom(...PAYLOAD_PATHS), fc.option(jsonish, { nil: undefined }))
          .map(([path, value]) => {
            const p = structuredClone(originals[0]!.payload) as unknown
            setPath(p, path, value)
            return p
          }),
      )
      await fc.assert(
        fc.asyncProperty(payload, async (p) => {
          const bytes = await signManifest(typeof p === 'string' ? p : (JSON.stringify(p) ?? 'null'), [pinned])
          const r = await verify(bytes)
          if (!r.ok) return expectRefusal(r, 'a signed random payload')
          // Signed by the pinned key: acceptable only as a manifest that passes every rule.
          expect(ManifestPayloadSchema.safeParse(r.payload).success).toBe(true)
          expect(r.payload.product).toBe('cco')
          expect(r.payload.channel).toBe('stable')
          expect(Date.parse(r.payload.expires_at)).toBeGreaterThan(NOW.getTime() - 5 * 60_000)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeout(1),
  )
})
