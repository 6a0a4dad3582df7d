// GET /v1/channels/{channel}/manifest and the informational reads: the signed manifest's
// fields and signature, ETag/304, cache headers, and which tier (cache, KV, Durable Object)
// served it.
import { reset } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { generalVerify, importJWK } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { ChannelListSchema } from '../../contract/api.ts'
import { JwsGeneralSchema, PublicKeySchema } from '../../contract/manifest.ts'
import { createApp } from '../../worker/app.ts'
import { forgetCachedCopies } from '../../worker/edge-cache.ts'
import testKeys from './fixtures/test-signing-keys.json' with { type: 'json' }
import { BROKER, getManifest, publish, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

const manifestUrl = (channel: string) => `${BROKER}/v1/channels/${channel}/manifest`
const cacheKey = (channel: string) => new Request(`${env.PUBLIC_URL}/v1/channels/${channel}/manifest`)

describe('the signed manifest', () => {
  it('verifies against the pinned key and the JWKS, and carries every field of the contract', async () => {
    await publish('2026.11.1', { body: 'What changed.', publishedAt: '2026-11-25T14:00:00Z' })
    const { res, body, payload, kids } = await getManifest('beta')
    expect(res.headers.get('content-type')).toBe('application/jose+json')
    expect(kids).toEqual(['test-key-a'])

    // Verified independently with the pinned public key, as a client does.
    const jws = JwsGeneralSchema.parse(JSON.parse(body))
    const pinned = PublicKeySchema.parse({ kid: testKeys.primary.kid, x: testKeys.primary.x })
    const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: pinned.x }, 'EdDSA')
    const verified = await generalVerify(jws, key)
    expect(verified.protectedHeader).toEqual({ alg: 'EdDSA', kid: 'test-key-a', typ: 'cco-manifest+json' })

    expect(Object.keys(payload)).toEqual(['schema', 'product', 'channel', 'seq', 'issued_at', 'expires_at', 'release', 'rollout', 'yanked'])
    expect(payload).toMatchObject({
      schema: 1,
      product: 'cco',
      channel: 'beta',
      seq: 1,
      release: {
        version: '2026.11.1',
        tag: 'v2026.11.1',
        published_at: '2026-11-25T14:00:00Z',
        notes: 'What changed.',
        notes_url: 'https://github.com/cco-dev/cco/releases/tag/v2026.11.1',
      },
      rollout: { percent: 100, halted: false },
      yanked: [],
    })
    expect(payload.issued_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Date.parse(payload.expires_at) - Date.parse(payload.issued_at)).toBe(7 * 24 * 3600 * 1000)
    expect(payload.release!.assets['linux-x86_64']).toEqual({
      name: 'cco-2026.11.1-linux-x86_64.tar.gz',
      url: expect.stringMatching(/^https:\/\/broker\.test\/v1\/assets\/2026\.11\.1\/[0-9a-f]{64}\/cco-2026\.11\.1-linux-x86_64\.tar\.gz$/),
      size: 1000 + 'cco-2026.11.1-linux-x86_64.tar.gz'.length,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
    // Content-addressed: the URL names the sha256 it serves.
    const asset = payload.release!.assets['linux-x86_64']!
    expect(asset.url).toContain(`/${asset.sha256}/`)
  })

  it('serves a signed manifest with release null for a channel that has no release yet', async () => {
    const { payload } = await getManifest('stable')
    expect(payload).toMatchObject({ channel: 'stable', seq: 1, release: null, rollout: { percent: 100, halted: false } })
  })

  it('answers 404 with a JSON error for an unknown channel', async () => {
    const res = await exports.default.fetch(manifestUrl('nightly'))
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: { code: 'unknown_channel', message: 'unknown channel "nightly" (channels: stable, beta)' } })
  })
})

describe('HTTP caching', () => {
  it('sends a strong ETag (sha256 of the bytes), Cache-Control with stale-if-error, and 304 on If-None-Match', async () => {
    await publish('2026.11.1')
    const { res, body } = await getManifest('beta')
    const etag = res.headers.get('etag')!
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body))
    expect(etag).toBe(`"${Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')}"`)
    expect(res.headers.get('cache-control')).toBe('max-age=60, stale-if-error=86400')

    // A 304 carries ETag and Cache-Control (RFC 9110 §15.4.5) and nothing else of ours, from
    // the edge cache (the fast path before the app) and from the Durable Object alike.
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const variants: Record<string, string>[] = [{ 'if-none-match': inm }, { 'if-none-match': inm, 'cache-control': 'no-cache' }]
      for (const headers of variants) {
        const again = await exports.default.fetch(manifestUrl('beta'), { headers })
        expect(again.status, inm).toBe(304)
        expect(Object.fromEntries(again.headers)).toEqual({ etag, 'cache-control': 'max-age=60, stale-if-error=86400' })
        expect(await again.text()).toBe('')
      }
    }
    const stale = await exports.default.fetch(manifestUrl('beta'), { headers: { 'if-none-match': '"0000"' } })
    expect(stale.status).toBe(200)
    await stale.arrayBuffer()

    // A new release changes the bytes: the old ETag no longer matches.
    await publish('2026.11.2')
    const changed = await exports.default.fetch(manifestUrl('beta'), { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('etag')).not.toBe(etag)
    await changed.arrayBuffer()
  })

  it('serves from the Durable Object, then from the edge cache, then from KV once the cache entry is gone', async () => {
    await publish('2026.11.1')
    // The publish wrote KV; take it away to force the Durable Object tier.
    await env.MANIFESTS.delete('manifest:beta')
    await caches.default.delete(cacheKey('beta'))
    const fromDo = await getManifest('beta')
    expect(fromDo.res.headers.get('x-cco-source')).toBe('do')
    // The DO tier refilled KV, and the Worker filled the cache.
    const kv = await env.MANIFESTS.getWithMetadata<{ etag: string; seq: number }>('manifest:beta')
    expect(kv.metadata).toEqual({ etag: fromDo.res.headers.get('etag'), seq: 1 })

    const fromCache = await getManifest('beta')
    expect(fromCache.res.headers.get('x-cco-source')).toBe('cache')
    expect(fromCache.body).toBe(fromDo.body)

    // The entry gone (expired, or purged by another isolate); this isolate's copy of it goes
    // with it after a second (edge-cache.ts), forgotten here at once.
    await caches.default.delete(cacheKey('beta'))
    forgetCachedCopies()
    const fromKv = await getManifest('beta')
    expect(fromKv.res.headers.get('x-cco-source')).toBe('kv')
    expect(fromKv.body).toBe(fromDo.body)
    expect(fromKv.res.headers.get('etag')).toBe(fromDo.res.headers.get('etag'))
  })

  it('reads KV with cacheTtl 30, the shortest Cloudflare allows, so a stale KV read lives 30 s and not the default 60', async () => {
    await publish('2026.11.1')
    await caches.default.delete(cacheKey('beta'))
    const asked: unknown[] = []
    const kv = {
      getWithMetadata: (key: string, options: KVNamespaceGetOptions<'text'>) => {
        asked.push(options)
        return env.MANIFESTS.getWithMetadata(key, options)
      },
    } as unknown as KVNamespace
    const res = await createApp().fetch(new Request(manifestUrl('beta')), { ...env, MANIFESTS: kv })
    expect(res.headers.get('x-cco-source')).toBe('kv')
    expect(asked).toEqual([{ type: 'text', cacheTtl: 30 }])
    await res.arrayBuffer()
  })

  it('serves the cached copy without asking KV or the Durable Object', async () => {
    await publish('2026.11.1')
    const first = await getManifest('beta')
    // Remove every other tier: only the edge cache can answer now.
    await env.MANIFESTS.delete('manifest:beta')
    const hit = await getManifest('beta')
    expect(hit.res.headers.get('x-cco-source')).toBe('cache')
    expect(hit.body).toBe(first.body)
  })

  it('answers Cache-Control: no-cache from the Durable Object, past a stale cached and KV copy', async () => {
    await publish('2026.11.1')
    const old = await getManifest('beta')
    await publish('2026.11.2')
    // A colo that still holds the old copy in both tiers (e.g. another colo within max-age).
    const stale = new Response(old.body, { headers: { etag: old.res.headers.get('etag')!, 'x-cco-seq': String(old.payload.seq), 'cache-control': 'max-age=60' } })
    await caches.default.put(cacheKey('beta'), stale)
    await env.MANIFESTS.put('manifest:beta', old.body, { metadata: { etag: old.res.headers.get('etag'), seq: old.payload.seq } })
    expect((await getManifest('beta')).payload.seq).toBe(old.payload.seq)

    const asks: Record<string, string>[] = [{ 'cache-control': 'no-cache' }, { 'cache-control': 'max-age=0' }, { pragma: 'no-cache' }]
    for (const [i, headers] of asks.entries()) {
      const fresh = await getManifest('beta', headers)
      // The first reads the object; the next ones, within a second, get that read (origin-reads.ts).
      expect(fresh.res.headers.get('x-cco-source')).toBe(i === 0 ? 'do' : 'memo')
      expect(fresh.payload.release?.version).toBe('2026.11.2')
      expect(fresh.payload.seq).toBeGreaterThan(old.payload.seq)
    }
    // The fresh answer also replaced the colo's stale copy.
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.2')
  })

  it('answers no-cache reads from the Durable Object without writing KV', async () => {
    await publish('2026.11.1')
    const current = await getManifest('beta')
    // A KV copy at the current seq that the broker did not write: a re-put would replace it.
    await env.MANIFESTS.put('manifest:beta', 'copy at the current seq', { metadata: { etag: current.res.headers.get('etag'), seq: current.payload.seq } })
    for (let i = 0; i < 3; i++) {
      const fresh = await getManifest('beta', { 'cache-control': 'no-cache' })
      expect(fresh.res.headers.get('x-cco-source')).toBe(i === 0 ? 'do' : 'memo')
      expect(fresh.body).toBe(current.body)
    }
    expect(await env.MANIFESTS.get('manifest:beta')).toBe('copy at the current seq')
  })

  it('has the Durable Object write KV only when the Worker saw it missing or older', async () => {
    await publish('2026.11.1')
    const current = await getManifest('beta')
    const seq = current.payload.seq
    const put = (metadata: Record<string, unknown>) => env.MANIFESTS.put('manifest:beta', 'copy', { metadata })
    await put({ etag: '"x"', seq })
    await stub().manifest('beta', { seq })
    expect(await env.MANIFESTS.get('manifest:beta')).toBe('copy')
    await stub().manifest('beta')
    expect(await env.MANIFESTS.get('manifest:beta')).toBe('copy')
    await stub().manifest('beta', { seq: seq - 1 })
    expect(await env.MANIFESTS.get('manifest:beta')).toBe(current.body)
    await put({ etag: '"x"', seq })
    await stub().manifest('beta', { seq: null })
    expect(await env.MANIFESTS.get('manifest:beta')).toBe(current.body)
  })

  it('drops the cached copy when a webhook changes the channel', async () => {
    await publish('2026.11.1')
    await getManifest('beta')
    expect((await getManifest('beta')).res.headers.get('x-cco-source')).toBe('cache')
    await publish('2026.11.2')
    const fresh = await getManifest('beta')
    expect(fresh.res.headers.get('x-cco-source')).toBe('kv')
    expect(fresh.payload.release?.version).toBe('2026.11.2')
  })
})

describe('informational reads', () => {
  it('lists the channels with version, seq and rollout', async () => {
    await publish('2026.11.1')
    const res = await exports.default.fetch(`${BROKER}/v1/channels`)
    const list = ChannelListSchema.parse(await res.json())
    expect(list.channels).toEqual([
      { channel: 'stable', version: null, seq: 1, rollout: { percent: 100, halted: false, reason: null, halted_by: null }, guard: { min_failures: 3, min_failure_percent: 5 }, ramp: null, issued_at: expect.any(String), expires_at: expect.any(String) },
      { channel: 'beta', version: '2026.11.1', seq: 1, rollout: { percent: 100, halted: false, reason: null, halted_by: null }, guard: { min_failures: 3, min_failure_percent: 5 }, ramp: null, issued_at: expect.any(String), expires_at: expect.any(String) },
    ])
  })

  it('answers /health and publishes the public key (and nothing private) in the JWKS', async () => {
    expect(await (await exports.default.fetch(`${BROKER}/health`)).json()).toEqual({ status: 'ok', product: 'cco' })
    const jwks = (await (await exports.default.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as { keys: Record<string, string>[] }
    expect(jwks.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: testKeys.primary.x, kid: 'test-key-a', alg: 'EdDSA', use: 'sig' }])
    expect(JSON.stringify(jwks)).not.toContain(testKeys.primary.d)
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await exports.default.fetch(`${BROKER}/v2/nothing`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /v2/nothing' } })
  })
})
