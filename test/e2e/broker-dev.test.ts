// The local default end to end: the real `wrangler dev` (workerd, persisted state) takes a
// signed release webhook and serves a manifest that verifies with the pinned public key; after
// a restart with a rotated key set, the scheduled run re-signs with both keys.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { generalVerify, importJWK } from 'jose'
import { JwsGeneralSchema, ManifestPayloadSchema } from '../../contract/manifest.ts'
import { generateSigningKey } from '../../scripts/lib/dev-secrets.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { releasePayload } from '../../support/github.ts'

const running: DevBroker[] = []
// Owned by the test (not by startBroker), so that state survives the restart below.
const state = mkdtempSync(join(tmpdir(), 'cco-broker-e2e-'))
afterAll(async () => {
  for (const b of running) await b.stop()
  rmSync(state, { recursive: true, force: true })
})

async function manifest(broker: DevBroker, channel: string) {
  const res = await fetch(`${broker.url}/v1/channels/${channel}/manifest`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/jose+json')
  return JwsGeneralSchema.parse(await res.json())
}

async function verifyWith(jws: ReturnType<typeof JwsGeneralSchema.parse>, key: { kid: string; x: string }) {
  const sig = jws.signatures.find((s) => JSON.parse(Buffer.from(s.protected, 'base64url').toString()).kid === key.kid)
  expect(sig, `a signature by ${key.kid}`).toBeDefined()
  const publicKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: key.x }, 'EdDSA')
  const { payload } = await generalVerify({ payload: jws.payload, signatures: [sig!] }, publicKey)
  return ManifestPayloadSchema.parse(JSON.parse(Buffer.from(payload).toString('utf8')))
}

it('publishes a webhook release as a signed manifest, and re-signs with rotated keys after a restart', { timeout: 90_000 }, async () => {
  const first = await startBroker({ persistDir: state })
  running.push(first)
  const version = '2026.11.7'
  const name = `cco-${version}-linux-x86_64.tar.gz`
  const payload = releasePayload({
    action: 'published',
    tag: `v${version}`,
    body: 'End-to-end release.',
    assets: [{ name, url: `https://github.com/cco-dev/cco/releases/download/v${version}/${name}`, size: 4096, digest: `sha256:${createHash('sha256').update(name).digest('hex')}` }],
  })
  const res = await first.sendWebhook('release', payload)
  expect(res.status, first.output()).toBe(200)
  expect(await res.json()).toMatchObject({ status: 'published', version, channels: { beta: 1 } })

  const m = await verifyWith(await manifest(first, 'beta'), first.secrets.publicKey)
  expect(m).toMatchObject({ schema: 1, product: 'cco', channel: 'beta', seq: 1, release: { version, notes: 'End-to-end release.' } })
  expect(m.release!.assets['linux-x86_64']!.url).toBe(`${first.url}/v1/assets/${version}/${createHash('sha256').update(name).digest('hex')}/${name}`)
  const redirect = await fetch(m.release!.assets['linux-x86_64']!.url, { redirect: 'manual' })
  expect(redirect.status).toBe(302)
  expect(redirect.headers.get('location')).toBe(`https://github.com/cco-dev/cco/releases/download/v${version}/${name}`)

  // Restart over the same state with a new key added in front of the old one.
  await first.stop()
  const next = await generateSigningKey('e2e-next')
  const second = await startBroker({
    persistDir: state,
    secrets: first.secrets,
    port: first.port,
    vars: { MANIFEST_SIGNING_KEY: JSON.stringify([next, first.secrets.signingKey]) },
  })
  running.push(second)
  await second.runScheduled()
  const rotated = await manifest(second, 'beta')
  expect(rotated.signatures).toHaveLength(2)
  const byNew = await verifyWith(rotated, { kid: next.kid, x: next.x })
  const byOld = await verifyWith(rotated, first.secrets.publicKey)
  expect(byNew).toEqual(byOld)
  expect(byNew).toMatchObject({ seq: 2, release: { version } })
})
