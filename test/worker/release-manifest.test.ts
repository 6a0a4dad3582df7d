// `GET /v1/releases/{version}/manifest` through the real Worker: the signed statement of one
// live release's assets (contract/release-manifest.ts), what any spelling of the version
// finds, what unknown, refused, withdrawn and yanked releases answer, and that a GET writes
// nothing.
import { reset } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { createLocalJWKSet, decodeProtectedHeader, generalVerify, type JSONWebKeySet } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { ErrorBodySchema } from '../../contract/api.ts'
import { JwsGeneralSchema, ManifestPayloadSchema, JWS_TYP, MANIFEST_MEDIA_TYPE } from '../../contract/manifest.ts'
import { RELEASE_JWS_TYP, RELEASE_MANIFEST_TTL_MS, ReleaseManifestPayloadSchema, type ReleaseManifestPayload } from '../../contract/release-manifest.ts'
import { BROKER, adminPost, archives, getManifest, publish, sendRelease, stateSnapshot, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

// Every request asks past the edge cache unless a test is about the cache: a release's state
// changes between requests here, faster than the cache's minute.
const FRESH = { 'cache-control': 'no-cache' }

async function statement(version: string, headers: Record<string, string> = FRESH): Promise<{ res: Response; body: string }> {
  const res = await exports.default.fetch(`${BROKER}/v1/releases/${encodeURIComponent(version)}/manifest`, { headers })
  return { res, body: new TextDecoder().decode(await res.arrayBuffer()) }
}

/** Verifies every signature of a statement against the published JWKS; returns the payload and each header. */
async function verified(body: string): Promise<{ payload: ReleaseManifestPayload; headers: Record<string, unknown>[] }> {
  const jws = JwsGeneralSchema.parse(JSON.parse(body))
  const jwks = (await (await exports.default.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as JSONWebKeySet
  const keySet = createLocalJWKSet(jwks)
  const headers: Record<string, unknown>[] = []
  for (const sig of jws.signatures) {
    const one = await generalVerify({ payload: jws.payload, signatures: [sig] }, keySet, { algorithms: ['EdDSA'] })
    headers.push(one.protectedHeader ?? {})
  }
  const { payload } = await generalVerify(jws, keySet, { algorithms: ['EdDSA'] })
  return { payload: ReleaseManifestPayloadSchema.parse(JSON.parse(new TextDecoder().decode(payload))), headers }
}

async function errorOf(res: Response, body: string) {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return ErrorBodySchema.parse(JSON.parse(body)).error
}

describe('a live release', () => {
  it('answers a statement signed with the published key, typ cco-release+json, naming the assets the channel manifest names', async () => {
    await publish('2026.11.1', { body: 'Notes.' })
    const { res, body } = await statement('2026.11.1')
    expect(res.status, body).toBe(200)
    expect(res.headers.get('content-type')).toBe(MANIFEST_MEDIA_TYPE)
    const { payload, headers } = await verified(body)
    expect(headers).toEqual([{ alg: 'EdDSA', kid: expect.any(String), typ: RELEASE_JWS_TYP }])

    const beta = await getManifest('beta')
    expect(beta.payload.release?.version).toBe('2026.11.1')
    expect(payload).toMatchObject({
      schema: 1,
      product: 'cco',
      version: '2026.11.1',
      tag: 'v2026.11.1',
      status: 'live',
      published_at: beta.payload.release!.published_at,
      notes_url: beta.payload.release!.notes_url,
    })
    // The same content-addressed asset entries as the channel manifest's.
    expect(payload.assets).toEqual(beta.payload.release!.assets)
    expect(Object.keys(payload.assets).sort()).toEqual(['darwin-arm64', 'linux-x86_64'])
    expect(Date.parse(payload.expires_at) - Date.parse(payload.issued_at)).toBe(RELEASE_MANIFEST_TTL_MS)
    expect(Math.abs(Date.parse(payload.issued_at) - Date.now())).toBeLessThan(60_000)
  })

  it('carries a typ that the channel manifest does not, and its payload is no channel manifest', async () => {
    await publish('2026.11.1')
    const { body } = await statement('2026.11.1')
    const release = JwsGeneralSchema.parse(JSON.parse(body))
    const channel = JwsGeneralSchema.parse(JSON.parse((await getManifest('beta')).body))
    expect(decodeProtectedHeader(release.signatures[0]!).typ).toBe(RELEASE_JWS_TYP)
    expect(decodeProtectedHeader(channel.signatures[0]!).typ).toBe(JWS_TYP)
    expect(RELEASE_JWS_TYP).not.toBe(JWS_TYP)
    const payload: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(release.payload.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0))))
    expect(ManifestPayloadSchema.safeParse(payload).success).toBe(false)
  })

  it('resolves any spelling of the version (v-prefix, missing or trailing zero parts, build metadata) to the recorded release', async () => {
    await publish('1.0.0')
    for (const spelling of ['v1.0', '1.0.0+b', '1.0', 'V1.0.0.0']) {
      const { res, body } = await statement(spelling)
      expect(res.status, `${spelling}: ${body}`).toBe(200)
      expect((await verified(body)).payload).toMatchObject({ version: '1.0.0', tag: 'v1.0.0' })
    }
  })

  it('is kept a minute in the edge cache, under one key for every spelling', async () => {
    await publish('2026.11.4')
    const first = await statement('2026.11.4', {})
    expect(first.res.headers.get('x-cco-source')).toBe('signed')
    expect(first.res.headers.get('cache-control')).toBe('public, max-age=60')
    const again = await statement('v2026.11.4.0', {})
    expect(again.res.headers.get('x-cco-source')).toBe('cache')
    expect(again.body).toBe(first.body)
    // No-cache asks past it and gets a new signature.
    expect((await statement('2026.11.4')).res.headers.get('x-cco-source')).toBe('signed')
    await caches.default.delete(new Request(`${env.PUBLIC_URL}/v1/releases/2026.11.4/manifest`))
  })
})

describe('no statement', () => {
  it('for a version the broker never saw, or text that is not a version: 404 unknown_release', async () => {
    await publish('2026.11.1')
    for (const asked of ['2026.11.9', 'nightly']) {
      const { res, body } = await statement(asked)
      expect(res.status, body).toBe(404)
      const error = await errorOf(res, body)
      expect(error.code).toBe('unknown_release')
      expect(error.message).toContain(JSON.stringify(asked))
    }
  })

  it('for a withdrawn release: 404 release_not_live with the reason', async () => {
    await publish('2026.11.2')
    await sendRelease({ action: 'deleted', tag: 'v2026.11.2', assets: await archives('2026.11.2') })
    const { res, body } = await statement('2026.11.2')
    expect(res.status, body).toBe(404)
    expect(await errorOf(res, body)).toEqual({ code: 'release_not_live', message: 'release 2026.11.2 is withdrawn (deleted on GitHub); only a live release can be installed' })
  })

  it('for a refused release: 404 release_not_live with the refusal', async () => {
    await sendRelease({ action: 'published', tag: 'v2026.11.3', assets: [] })
    const { res, body } = await statement('2026.11.3')
    expect(res.status, body).toBe(404)
    const error = await errorOf(res, body)
    expect(error.code).toBe('release_not_live')
    expect(error.message).toMatch(/^release 2026\.11\.3 is refused \(.+\); only a live release can be installed$/)
  })

  it('for a yanked release: 410 release_yanked with the reason, and a statement again once unyanked', async () => {
    await publish('2026.11.1')
    await publish('2026.11.2')
    expect((await adminPost('/v1/releases/2026.11.2/yank', { reason: 'corrupts the config file' })).status).toBe(200)
    const { res, body } = await statement('v2026.11.2')
    expect(res.status, body).toBe(410)
    expect(await errorOf(res, body)).toEqual({ code: 'release_yanked', message: 'release 2026.11.2 was yanked: corrupts the config file' })
    expect((await adminPost('/v1/releases/2026.11.2/unyank', {})).status).toBe(200)
    expect((await statement('2026.11.2')).res.status).toBe(200)
  })
})

it('writes nothing: channels, their manifests, the audit log, the release and KV stay as they were', async () => {
  await publish('2026.11.1')
  const before = await stateSnapshot()
  const release = await stub().getRelease('2026.11.1')
  const kv = (await env.MANIFESTS.list()).keys.map((k) => k.name)
  for (const v of ['2026.11.1', 'v2026.11.1', '2026.11.9']) await statement(v)
  await statement('2026.11.1', {})
  expect(await stateSnapshot()).toEqual(before)
  expect(await stub().getRelease('2026.11.1')).toEqual(release)
  expect((await env.MANIFESTS.list()).keys.map((k) => k.name)).toEqual(kv)
  await caches.default.delete(new Request(`${env.PUBLIC_URL}/v1/releases/2026.11.1/manifest`))
})
