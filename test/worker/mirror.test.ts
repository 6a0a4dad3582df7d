// The asset mirror (the `worker-mirror` project, with the R2 binding ASSETS_BUCKET): a release
// goes live only after the Durable Object's alarm has copied and verified every asset, and
// GET /v1/assets/… (content-addressed: the URL carries the sha256) then serves the copy from R2
// with Range support. The download host is faked at `fetch`.
import { reset, runDurableObjectAlarm } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { MIRROR_MAX_ATTEMPTS } from '../../worker/broker/broker.ts'
import type { FixtureAsset } from '../../support/github.ts'
import { BROKER, auditLog, fakeNetwork, freshManifest as getManifest, makeAlarmJobsDue, sendRelease, stub } from './helpers.ts'

const V = '2026.12.1'
const NAME = canonicalAssetName(V, 'linux-x86_64')
const URL_ = `https://github.com/cco-dev/cco/releases/download/v${V}/${NAME}`

beforeEach(() => vi.restoreAllMocks())
afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

/** Deterministic archive bytes of a given size. */
function bytesOf(size: number, seed = 7): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** The manifest's content-addressed URL of the archive with these bytes, and its key in R2. */
const assetUrlOf = async (bytes: Uint8Array) => `${BROKER}/v1/assets/${V}/${await sha256(bytes)}/${NAME}`
const keyOf = async (bytes: Uint8Array) => `assets/${V}/${await sha256(bytes)}/${NAME}`
/** Every object in the bucket. */
const storedKeys = async () => (await env.ASSETS_BUCKET.list()).objects.map((o) => o.key)

async function assetFor(bytes: Uint8Array, o: { url?: string; name?: string } = {}): Promise<FixtureAsset> {
  return { name: o.name ?? NAME, url: o.url ?? URL_, size: bytes.length, digest: `sha256:${await sha256(bytes)}` }
}


const serve = (bytes: Uint8Array) => () => new Response(bytes, { headers: { 'content-length': String(bytes.length) } })

describe('mirroring a release', () => {
  it('publishes only after the alarm copied and verified the asset, then serves it from R2 with Range', async () => {
    const bytes = bytesOf(5000)
    const ASSET_URL = await assetUrlOf(bytes)
    const net = fakeNetwork({ [URL_]: serve(bytes) })

    const r = await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(bytes)] })
    expect(r.status).toBe(202)
    expect(r.body).toMatchObject({ status: 'queued', version: V })
    expect(net.asked).toEqual([]) // nothing fetched on the webhook's request path
    expect(await stub().getRelease(V)).toMatchObject({ status: 'mirroring', channels: [], mirror: { attempts: 0 } })
    const before = await getManifest('beta')
    expect(before.payload.release).toBeNull()

    expect(await runDurableObjectAlarm(stub())).toBe(true)
    expect(net.asked).toEqual([URL_])
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', mirror: null, channels: ['beta'] })
    const after = await getManifest('beta')
    expect(after.payload.seq).toBe(before.payload.seq + 1)
    expect(after.payload.release?.assets['linux-x86_64']).toMatchObject({ url: ASSET_URL, sha256: await sha256(bytes), size: 5000 })
    const stored = await env.ASSETS_BUCKET.head(await keyOf(bytes))
    expect(stored?.size).toBe(5000)
    expect((await auditLog()).map((e) => e.action).filter((a) => a.startsWith('release.'))).toEqual(['release.mirroring', 'release.published'])

    const part = await exports.default.fetch(ASSET_URL, { headers: { range: 'bytes=0-9' } })
    expect(part.status).toBe(206)
    expect(Object.fromEntries(['content-range', 'content-length', 'accept-ranges', 'content-type'].map((h) => [h, part.headers.get(h)]))).toEqual({
      'content-range': 'bytes 0-9/5000',
      'content-length': '10',
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    })
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.slice(0, 10))

    const full = await exports.default.fetch(ASSET_URL)
    expect(full.status).toBe(200)
    expect(full.headers.get('cache-control')).toMatch(/immutable/)
    expect(full.headers.get('content-length')).toBe('5000')
    const etag = full.headers.get('etag')!
    expect(etag).toMatch(/^"/)
    expect(await sha256(new Uint8Array(await full.arrayBuffer()))).toBe(await sha256(bytes))

    const tail = await exports.default.fetch(ASSET_URL, { headers: { range: 'bytes=-5' } })
    expect(tail.headers.get('content-range')).toBe('bytes 4995-4999/5000')
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(4995))

    const beyond = await exports.default.fetch(ASSET_URL, { headers: { range: 'bytes=5000-' } })
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe('bytes */5000')
    await beyond.arrayBuffer()

    const cached = await exports.default.fetch(ASSET_URL, { headers: { 'if-none-match': etag } })
    expect(cached.status).toBe(304)
    const stale = await exports.default.fetch(ASSET_URL, { headers: { range: 'bytes=0-9', 'if-range': '"older"' } })
    expect(stale.status).toBe(200)
    await stale.arrayBuffer()

    // Every download above came from R2, none from the download host.
    expect(net.asked).toEqual([URL_])

    // Another spelling of the version names the same copy (never a redirect to the download host).
    const respelled = await exports.default.fetch(ASSET_URL.replace(`/v1/assets/${V}/`, `/v1/assets/v${V}.0+build/`))
    expect(respelled.status).toBe(200)
    expect(await sha256(new Uint8Array(await respelled.arrayBuffer()))).toBe(await sha256(bytes))
    expect(net.asked).toEqual([URL_])
  })

  it('refuses a release whose download does not match its digest, after retrying with backoff', async () => {
    const bytes = bytesOf(3000)
    const tampered = bytesOf(3000, 8)
    const net = fakeNetwork({ [URL_]: serve(tampered) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(bytes)] })

    const delays: number[] = []
    for (let attempt = 1; attempt < MIRROR_MAX_ATTEMPTS; attempt++) {
      await makeAlarmJobsDue()
      const at = Date.now()
      expect(await runDurableObjectAlarm(stub())).toBe(true)
      const release = await stub().getRelease(V)
      expect(release).toMatchObject({ status: 'mirroring', mirror: { attempts: attempt, last_error: expect.stringMatching(/sha256 mismatch/) } })
      delays.push(Date.parse(release!.mirror!.next_attempt_at!) - at)
      // A mismatching copy never stays in the bucket.
      expect(await storedKeys()).toEqual([])
    }
    for (let i = 1; i < delays.length; i++) expect(delays[i]! / delays[i - 1]!).toBeGreaterThan(1.5)

    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    expect(net.asked).toHaveLength(MIRROR_MAX_ATTEMPTS)
    const release = await stub().getRelease(V)
    expect(release?.status).toBe('refused')
    expect(release?.reason).toBe(`asset mirror copy failed after ${MIRROR_MAX_ATTEMPTS} attempts: ${NAME}: sha256 mismatch (got ${await sha256(tampered)}, expected ${await sha256(bytes)})`)
    expect(release?.mirror).toBeNull()
    expect((await getManifest('beta')).payload.release).toBeNull()
    expect((await auditLog()).filter((e) => e.action === 'mirror.failed')).toHaveLength(MIRROR_MAX_ATTEMPTS - 1)
    expect(await storedKeys()).toEqual([])
  })

  it('keeps nothing from a download that is too long, too short or cut off', async () => {
    const bytes = bytesOf(3000)
    // No Content-Length to go by, and more bytes than GitHub recorded.
    fakeNetwork({ [URL_]: () => new Response(new Blob([bytes, bytesOf(10)]).stream()) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(bytes)] })
    await runDurableObjectAlarm(stub())
    expect((await stub().getRelease(V))?.mirror?.last_error).toBe(`${NAME}: size mismatch (got more than the 3000 bytes expected)`)
    expect(await storedKeys()).toEqual([])

    // Shorter than recorded.
    vi.restoreAllMocks()
    fakeNetwork({ [URL_]: () => new Response(new Blob([bytes.slice(0, 2999)]).stream()) })
    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    expect((await stub().getRelease(V))?.mirror?.last_error).toBe(`${NAME}: size mismatch (got 2999 bytes, expected 3000)`)
    expect(await storedKeys()).toEqual([])

    // Cut off in the middle.
    vi.restoreAllMocks()
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 1000))
        controller.error(new Error('connection reset by peer'))
      },
    })
    fakeNetwork({ [URL_]: () => new Response(broken) })
    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V)).toMatchObject({ status: 'mirroring', mirror: { attempts: 3, last_error: `${NAME}: download failed: connection reset by peer` } })
    expect(await storedKeys()).toEqual([])
  })

  it('follows redirects within ASSET_HOSTS and refuses at once a redirect off them', async () => {
    const bytes = bytesOf(2000)
    const cdn = 'https://release-assets.githubusercontent.com/signed/archive?token=x'
    const net = fakeNetwork({ [URL_]: () => new Response(null, { status: 302, headers: { location: cdn } }), [cdn]: serve(bytes) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(bytes)] })
    await runDurableObjectAlarm(stub())
    expect(net.asked).toEqual([URL_, cdn])
    expect((await stub().getRelease(V))?.status).toBe('live')

    vi.restoreAllMocks()
    const V2 = '2026.12.2'
    const name2 = canonicalAssetName(V2, 'linux-x86_64')
    const url2 = `https://github.com/cco-dev/cco/releases/download/v${V2}/${name2}`
    fakeNetwork({ [url2]: () => new Response(null, { status: 302, headers: { location: 'https://evil.example/archive' } }) })
    await sendRelease({ action: 'published', tag: `v${V2}`, assets: [await assetFor(bytes, { url: url2, name: name2 })] })
    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V2)).toMatchObject({
      status: 'refused',
      reason: `asset mirror copy failed: ${name2}: redirect target is on evil.example, which is not in ASSET_HOSTS`,
    })
  })

  it('keeps a live release serving its copy while an update with new assets is mirrored', async () => {
    const first = bytesOf(1500, 1)
    const second = bytesOf(1600, 2)
    let serving = first
    fakeNetwork({ [URL_]: () => serve(serving)() })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(first)] })
    await runDurableObjectAlarm(stub())
    const live = await getManifest('beta')
    expect(live.payload.release?.assets['linux-x86_64']?.sha256).toBe(await sha256(first))

    // Only the notes change: published at once, nothing to copy.
    const notes = await sendRelease({ action: 'edited', tag: `v${V}`, body: 'better notes', assets: [await assetFor(first)] })
    expect(notes).toMatchObject({ status: 200, body: { status: 'published' } })
    expect((await stub().getRelease(V))?.mirror).toBeNull()

    // The archive is replaced on GitHub: the old copy keeps serving until the new one is verified.
    serving = second
    const edited = await sendRelease({ action: 'edited', tag: `v${V}`, body: 'better notes', assets: [await assetFor(second)] })
    expect(edited).toMatchObject({ status: 202, body: { status: 'queued' } })
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', mirror: { attempts: 0 } })
    expect((await getManifest('beta')).payload.release?.assets['linux-x86_64']?.sha256).toBe(await sha256(first))

    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', mirror: null })
    expect((await getManifest('beta')).payload.release?.assets['linux-x86_64']).toMatchObject({ sha256: await sha256(second), size: 1600 })
    const full = await exports.default.fetch(await assetUrlOf(second))
    expect(await sha256(new Uint8Array(await full.arrayBuffer()))).toBe(await sha256(second))
  })

  it('keeps serving the advertised copy while the copy of a replaced archive fails, and deletes it once no manifest names it', async () => {
    const first = bytesOf(1500, 1)
    const second = bytesOf(1600, 2)
    let serving = first
    fakeNetwork({ [URL_]: () => serve(serving)() })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(first)] })
    await runDurableObjectAlarm(stub())
    const firstUrl = (await getManifest('beta')).payload.release!.assets['linux-x86_64']!.url
    expect(firstUrl).toBe(await assetUrlOf(first))

    // The archive is replaced on GitHub, and the first copy of the new one breaks off.
    serving = second.slice(0, 900)
    await sendRelease({ action: 'edited', tag: `v${V}`, assets: [await assetFor(second)] })
    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', mirror: { attempts: 1, last_error: expect.stringMatching(/size mismatch/) } })
    // Hosts still get the manifest's bytes from R2, never GitHub's new ones.
    expect((await getManifest('beta')).payload.release!.assets['linux-x86_64']!.url).toBe(firstUrl)
    const during = await exports.default.fetch(firstUrl, { redirect: 'manual' })
    expect(during.status).toBe(200)
    expect(during.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(await sha256(new Uint8Array(await during.arrayBuffer()))).toBe(await sha256(first))
    expect(await storedKeys()).toEqual([await keyOf(first)])

    serving = second
    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    const secondUrl = (await getManifest('beta')).payload.release!.assets['linux-x86_64']!.url
    expect(secondUrl).toBe(await assetUrlOf(second))
    expect(await sha256(new Uint8Array(await (await exports.default.fetch(secondUrl)).arrayBuffer()))).toBe(await sha256(second))
    // The first copy went with the commit that stopped advertising it; its URL is not
    // redirected to GitHub either, where the name now has other bytes.
    expect(await storedKeys()).toEqual([await keyOf(second)])
    const gone = await exports.default.fetch(firstUrl, { redirect: 'manual' })
    expect(gone.status).toBe(404)
    expect(((await gone.json()) as any).error.message).toMatch(/was replaced; fetch the channel's manifest again/)
  })

  it("serves the name-only URLs of manifests signed before the sha256 was in the URL, and copies made under the old keys", async () => {
    const bytes = bytesOf(1200)
    fakeNetwork({ [URL_]: serve(bytes) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(bytes)] })
    await runDurableObjectAlarm(stub())
    const nameOnly = `${BROKER}/v1/assets/${V}/${NAME}`
    const res = await exports.default.fetch(nameOnly)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    expect(await sha256(new Uint8Array(await res.arrayBuffer()))).toBe(await sha256(bytes))

    // A copy made before keys carried the sha256 is served while its sha256 is the recorded one.
    await env.ASSETS_BUCKET.delete(await keyOf(bytes))
    await env.ASSETS_BUCKET.put(`assets/${V}/${NAME}`, bytes, { sha256: await sha256(bytes) })
    for (const url of [nameOnly, await assetUrlOf(bytes)]) {
      const old = await exports.default.fetch(url, { redirect: 'manual' })
      expect(old.status, url).toBe(200)
      await old.arrayBuffer()
    }
    const other = bytesOf(1200, 9)
    await env.ASSETS_BUCKET.put(`assets/${V}/${NAME}`, other, { sha256: await sha256(other) })
    expect((await exports.default.fetch(nameOnly, { redirect: 'manual' })).status).toBe(302)
  })

  it('fetches a checksums file, then copies the assets in the same alarm run', async () => {
    const bytes = bytesOf(2500)
    const checksumsUrl = `https://github.com/cco-dev/cco/releases/download/v${V}/checksums.txt`
    const checksums = `${await sha256(bytes)}  ${NAME}\n`
    const net = fakeNetwork({ [URL_]: serve(bytes), [checksumsUrl]: () => new Response(checksums) })
    const r = await sendRelease({
      action: 'published',
      tag: `v${V}`,
      assets: [{ name: NAME, url: URL_, size: bytes.length }, { name: 'checksums.txt', url: checksumsUrl, size: checksums.length }],
    })
    expect(r.body.status).toBe('queued')
    expect((await stub().getRelease(V))?.status).toBe('pending')
    await runDurableObjectAlarm(stub())
    expect(net.asked).toEqual([checksumsUrl, URL_])
    expect((await stub().getRelease(V))?.status).toBe('live')
  })

  it('redirects to the recorded download URL when the mirror has no copy', async () => {
    const bytes = bytesOf(1200)
    fakeNetwork({ [URL_]: serve(bytes) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [await assetFor(bytes)] })
    await runDurableObjectAlarm(stub())
    // As for a release published before the mirror was turned on.
    await env.ASSETS_BUCKET.delete(await keyOf(bytes))
    for (const url of [await assetUrlOf(bytes), `${BROKER}/v1/assets/${V}/${NAME}`]) {
      const res = await exports.default.fetch(url, { redirect: 'manual' })
      expect(res.status, url).toBe(302)
      expect(res.headers.get('location')).toBe(URL_)
      expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    }
    expect((await exports.default.fetch(`${BROKER}/v1/assets/${V}/no-such-file.tar.gz`)).status).toBe(404)
    expect((await exports.default.fetch(`${BROKER}/v1/assets/${V}/${await sha256(bytes)}/no-such-file.tar.gz`)).status).toBe(404)
    expect((await exports.default.fetch(`${BROKER}/v1/assets/${V}/not-a-sha256/${NAME}`)).status).toBe(404)
  })
})
