// Differential assets at ingest, through the real Worker and Durable Object: a release whose
// archive has a block map and a chunk pack goes live only after the alarm fetched the block map
// (off the webhook's path), checked it against its digest and the release, and the signed
// manifest and release statement then carry the archive's `binary` with content-addressed URLs.
// Anything wrong refuses the release and leaves what was served as it was. The download host
// is a stand-in at `fetch`, as in checksums.test.ts.
import { reset, runDurableObjectAlarm } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { createLocalJWKSet, generalVerify, type JSONWebKeySet } from 'jose'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BLOCKMAP_MAX_BYTES, type BlockMap } from '../../contract/blockmap.ts'
import { JwsGeneralSchema, MANIFEST_MAX_BYTES } from '../../contract/manifest.ts'
import { canonicalAssetName, PLATFORMS, type Platform } from '../../contract/platform.ts'
import { ReleaseManifestPayloadSchema } from '../../contract/release-manifest.ts'
import { CHECKSUMS_MAX_ATTEMPTS } from '../../worker/broker/broker.ts'
import { mayBeRecordedAssetName } from '../../worker/policy/delta-assets.ts'
import type { FixtureAsset } from '../../support/github.ts'
import { buildDelta, deltaAssets, downloadUrl, sampleBinary, sha256, type Delta } from './delta-fixtures.ts'
import { BROKER, archive, auditLog, fakeNetwork, freshManifest as getManifest, makeAlarmJobsDue, publish, sendRelease, stateSnapshot, stub } from './helpers.ts'

const V = '2026.12.1'
const LINUX = canonicalAssetName(V, 'linux-x86_64')

beforeEach(() => vi.restoreAllMocks())
afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})


/** A release of V: linux-x86_64 with its block map and pack, darwin-arm64 without any. */
async function deltaRelease(d: Delta, o: Parameters<typeof deltaAssets>[2] = {}): Promise<{ assets: FixtureAsset[]; blockmap: FixtureAsset; pack: FixtureAsset }> {
  const { blockmap, pack } = await deltaAssets(V, d, o)
  return { assets: [await archive(V, 'linux-x86_64'), await archive(V, 'darwin-arm64'), blockmap, pack], blockmap, pack }
}

/** The stand-in download host serving these block maps (URL → bytes). */
function serveBlockMaps(maps: Record<string, Uint8Array>) {
  return fakeNetwork(Object.fromEntries(Object.entries(maps).map(([url, bytes]) => [url, () => new Response(bytes, { headers: { 'content-length': String(bytes.length) } })])))
}

const assetUrl = (version: string, sha: string, name: string) => `${BROKER}/v1/assets/${version}/${sha}/${name}`

describe('a release with a block map and a chunk pack', () => {
  it('is pending until the alarm fetched its block map, then signs the binary, block map and pack into the manifest', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    expect(d.map.chunks.length).toBeGreaterThan(new Set(d.map.chunks.map((c) => c[2])).size) // chunks repeat, the pack holds them once
    const { assets, blockmap } = await deltaRelease(d)
    const net = serveBlockMaps({ [blockmap.url]: d.mapBytes })
    const before = await getManifest('beta')

    const r = await sendRelease({ action: 'published', tag: `v${V}`, assets })
    expect(r).toMatchObject({ status: 202, body: { status: 'queued', version: V } })
    expect(net.asked).toEqual([]) // nothing fetched on the webhook's request path
    expect(await stub().getRelease(V)).toMatchObject({ status: 'pending', pending: { file: d.names.blockmap, attempts: 0 } })
    expect((await getManifest('beta')).payload.seq).toBe(before.payload.seq)

    expect(await runDurableObjectAlarm(stub())).toBe(true)
    expect(net.asked).toEqual([blockmap.url])
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', pending: null })
    const m = await getManifest('beta')
    expect(m.payload.seq).toBe(before.payload.seq + 1)
    const linux = m.payload.release!.assets['linux-x86_64']!
    const [mapSha, packSha, binarySha] = [await sha256(d.mapBytes), await sha256(d.pack), await sha256(d.binary)]
    expect(linux).toEqual({
      name: LINUX,
      url: assetUrl(V, linux.sha256, LINUX),
      size: linux.size,
      sha256: linux.sha256,
      binary: {
        size: d.binary.length,
        sha256: binarySha,
        blockmap: { url: assetUrl(V, mapSha, d.names.blockmap), size: d.mapBytes.length, sha256: mapSha },
        pack: { url: assetUrl(V, packSha, d.names.pack), size: d.pack.length, sha256: packSha },
      },
    })
    // An archive without differential assets gets no `binary`: hosts download it whole.
    expect(m.payload.release!.assets['darwin-arm64']).not.toHaveProperty('binary')
    const published = (await auditLog()).find((e) => e.action === 'release.published')
    expect(published?.detail).toMatchObject({ blockmaps: [d.names.blockmap] })
  })

  it('puts the same binary, block map and pack into the signed release statement', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { assets, blockmap } = await deltaRelease(d)
    serveBlockMaps({ [blockmap.url]: d.mapBytes })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())

    const res = await exports.default.fetch(`${BROKER}/v1/releases/${V}/manifest`, { headers: { 'cache-control': 'no-cache' } })
    expect(res.status).toBe(200)
    const jws = JwsGeneralSchema.parse(JSON.parse(new TextDecoder().decode(await res.arrayBuffer())))
    const jwks = (await (await exports.default.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as JSONWebKeySet
    const { payload, protectedHeader } = await generalVerify(jws, createLocalJWKSet(jwks), { algorithms: ['EdDSA'] })
    expect(protectedHeader?.typ).toBe('cco-release+json')
    const statement = ReleaseManifestPayloadSchema.parse(JSON.parse(new TextDecoder().decode(payload)))
    const channel = (await getManifest('beta')).payload.release!.assets
    expect(statement.assets['linux-x86_64']?.binary).toEqual(channel['linux-x86_64']!.binary)
    expect(statement.assets['linux-x86_64']?.binary).toMatchObject({ size: d.binary.length, sha256: await sha256(d.binary) })
    expect(statement.assets['darwin-arm64']).not.toHaveProperty('binary')
  })

  it('takes the digests of the block map and pack from the checksums file, fetched before the block map in the same alarm run', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { assets, blockmap } = await deltaRelease(d, { digest: { blockmap: false, pack: false } })
    const sumsUrl = downloadUrl(V, 'checksums.txt')
    const sums = `${await sha256(d.mapBytes)}  ${d.names.blockmap}\n${await sha256(d.pack)}  ${d.names.pack}\n`
    const net = fakeNetwork({ [sumsUrl]: () => new Response(sums), [blockmap.url]: () => new Response(d.mapBytes) })
    const r = await sendRelease({ action: 'published', tag: `v${V}`, assets: [...assets, { name: 'checksums.txt', url: sumsUrl, size: sums.length }] })
    expect(r.body.status).toBe('queued')
    expect((await stub().getRelease(V))?.pending?.file).toBe('checksums.txt')
    await runDurableObjectAlarm(stub())
    expect(net.asked).toEqual([sumsUrl, blockmap.url])
    expect((await stub().getRelease(V))?.status).toBe('live')
    expect((await getManifest('beta')).payload.release!.assets['linux-x86_64']!.binary?.pack.sha256).toBe(await sha256(d.pack))
  })

  it('retries a block map download that fails, with the checksums job\'s backoff, then publishes it', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { assets, blockmap } = await deltaRelease(d)
    let up = false
    const net = fakeNetwork({ [blockmap.url]: () => (up ? new Response(d.mapBytes) : new Response('busy', { status: 503 })) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })

    const delays: number[] = []
    for (let attempt = 1; attempt <= 3; attempt++) {
      await makeAlarmJobsDue()
      const at = Date.now()
      expect(await runDurableObjectAlarm(stub())).toBe(true)
      const r = await stub().getRelease(V)
      expect(r).toMatchObject({ status: 'pending', pending: { file: d.names.blockmap, attempts: attempt, last_error: 'HTTP 503' } })
      delays.push(Date.parse(r!.pending!.next_attempt_at!) - at)
    }
    for (let i = 1; i < delays.length; i++) expect(delays[i]! / delays[i - 1]!).toBeGreaterThan(1.5)
    const failures = (await auditLog()).filter((e) => e.action === 'blockmap.fetch_failed')
    expect(failures.map((e) => e.detail)).toEqual([1, 2, 3].map((attempt) => expect.objectContaining({ blockmap: d.names.blockmap, attempt, error: 'HTTP 503' })))

    up = true
    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    expect(net.asked).toHaveLength(4)
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', pending: null })
    expect((await getManifest('beta')).payload.release!.assets['linux-x86_64']!.binary?.sha256).toBe(await sha256(d.binary))
  })

  it('refuses the release, naming the block map, once the download failed on every attempt', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { assets, blockmap } = await deltaRelease(d)
    fakeNetwork({ [blockmap.url]: () => new Response('gone', { status: 502 }) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    for (let attempt = 1; attempt <= CHECKSUMS_MAX_ATTEMPTS; attempt++) {
      await makeAlarmJobsDue()
      await runDurableObjectAlarm(stub())
    }
    expect(await stub().getRelease(V)).toMatchObject({
      status: 'refused',
      pending: null,
      reason: `block map "${d.names.blockmap}" could not be fetched after ${CHECKSUMS_MAX_ATTEMPTS} attempts: HTTP 502`,
    })
  })

  it('refuses at once a block map larger than the cap, without reading all of it', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { assets, blockmap } = await deltaRelease(d)
    let pulled = 0
    fakeNetwork({
      [blockmap.url]: () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              pulled++
              controller.enqueue(new Uint8Array(256 * 1024).fill(0x20))
            },
          }),
        ),
    })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    expect((await stub().getRelease(V))?.reason).toBe(`block map "${d.names.blockmap}" could not be fetched: larger than ${BLOCKMAP_MAX_BYTES} bytes`)
    expect(pulled).toBeLessThan(BLOCKMAP_MAX_BYTES / (256 * 1024) + 4)
  })

  it('serves none of it while the release is pending, and a release without differential assets as before', async () => {
    await publish('2026.11.1')
    const m = await getManifest('beta')
    for (const a of Object.values(m.payload.release!.assets)) expect(a).not.toHaveProperty('binary')
  })
})

describe('a release whose differential assets are wrong is refused, and what was served stays', () => {
  /** Publishes 2026.11.1 (no differential assets), then V with these assets and block map bytes, runs the alarm; V's reason. */
  async function refusedAfterAlarm(assets: FixtureAsset[], maps: Record<string, Uint8Array>): Promise<string | null> {
    await publish('2026.11.1')
    const before = await stateSnapshot()
    serveBlockMaps(maps)
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    const r = await stub().getRelease(V)
    expect(r?.status).toBe('refused')
    // The previously published state is what is served: same seq, same bytes.
    const after = await stateSnapshot()
    expect(after.seqs).toEqual(before.seqs)
    expect(after.manifests).toEqual(before.manifests)
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
    return r!.reason
  }

  it('refuses a block map without its pack, and a pack without its block map, on the webhook, naming the missing one', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { blockmap, pack } = await deltaAssets(V, d)
    await publish('2026.11.1')
    const before = await stateSnapshot()
    const net = fakeNetwork({})
    for (const [present, missing] of [
      [blockmap, d.names.pack],
      [pack, d.names.blockmap],
    ] as const) {
      const r = await sendRelease({ action: 'published', tag: `v${V}`, assets: [await archive(V, 'linux-x86_64'), present] })
      expect(r).toMatchObject({ status: 200, body: { status: 'refused' } })
      expect(r.body.reason).toBe(`asset "${present.name}" has no "${missing}" beside it (a differential update needs both the block map and the chunk pack of "${LINUX}")`)
    }
    expect(net.asked).toEqual([])
    const after = await stateSnapshot()
    expect(after.seqs).toEqual(before.seqs)
    expect(after.manifests).toEqual(before.manifests)
  })

  it('refuses a block map or pack without a digest when there is no checksums file', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    for (const [which, name] of [
      ['blockmap', d.names.blockmap],
      ['pack', d.names.pack],
    ] as const) {
      const { assets } = await deltaRelease(d, { digest: { [which]: false } })
      const r = await sendRelease({ action: 'published', tag: `v${V}`, assets })
      expect(r.body).toMatchObject({ status: 'refused', reason: `asset "${name}" has no sha256 digest and the release has no checksums file` })
    }
  })

  it('refuses on the webhook a block map that GitHub lists as larger than the cap, and an empty pack', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const net = fakeNetwork({})
    const big = await deltaRelease(d)
    big.blockmap.size = BLOCKMAP_MAX_BYTES + 1
    const r = await sendRelease({ action: 'published', tag: `v${V}`, assets: big.assets })
    expect(r.body).toMatchObject({ status: 'refused', reason: `block map "${d.names.blockmap}" is ${BLOCKMAP_MAX_BYTES + 1} bytes, over the ${BLOCKMAP_MAX_BYTES}-byte cap` })
    const empty = await deltaRelease(d)
    empty.pack.size = 0
    const r2 = await sendRelease({ action: 'published', tag: `v${V}`, assets: empty.assets })
    expect(r2.body).toMatchObject({ status: 'refused', reason: `asset "${d.names.pack}" is empty` })
    expect(net.asked).toEqual([])
  })

  it('refuses a block map whose bytes do not match its digest', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const { assets, blockmap } = await deltaRelease(d)
    const other = new TextEncoder().encode(new TextDecoder().decode(d.mapBytes).replace('"schema":1', '"schema": 1'))
    const reason = await refusedAfterAlarm(assets, { [blockmap.url]: other })
    expect(reason).toBe(`block map "${d.names.blockmap}": sha256 mismatch (got ${await sha256(other)}, expected ${await sha256(d.mapBytes)})`)
  })

  // Each block map is uploaded with its own (matching) digest: what is wrong is what it says.
  const wrongMaps: [string, (m: BlockMap) => unknown, (d: Delta) => string][] = [
    ['fails the schema', (m) => ({ ...m, chunking: { ...m.chunking, avg: 32768 } }), (d) => `block map "${d.names.blockmap}": chunking.avg: invalid value`],
    ['does not tile the binary', (m) => ({ ...m, binary: { ...m.binary, size: m.binary.size + 1 } }), (d) => `block map "${d.names.blockmap}": chunks: the chunks cover ${d.binary.length} bytes, the binary has ${d.binary.length + 1}`],
    ['is not JSON', () => undefined, (d) => `block map "${d.names.blockmap}" is not UTF-8 JSON`],
    ['names another version', (m) => ({ ...m, version: '2026.12.2' }), (d) => `block map "${d.names.blockmap}" describes version "2026.12.2", not ${V}`],
    ['names another platform', (m) => ({ ...m, platform: 'linux-aarch64' }), (d) => `block map "${d.names.blockmap}" describes platform "linux-aarch64", not linux-x86_64`],
    ['names another pack', (m) => ({ ...m, pack: { ...m.pack, name: 'other.chunks' } }), (d) => `block map "${d.names.blockmap}" names the pack "other.chunks", not "${d.names.pack}"`],
    ['gives the pack another size', (m) => ({ ...m, pack: { ...m.pack, size: m.pack.size + 10 } }), (d) => `block map "${d.names.blockmap}" gives the pack "${d.names.pack}" ${d.pack.length + 10} bytes, the release's has ${d.pack.length}`],
    ['gives the pack another sha256', (m) => ({ ...m, pack: { ...m.pack, sha256: 'e'.repeat(64) } }), (d) => `block map "${d.names.blockmap}" gives the pack "${d.names.pack}" sha256 ${'e'.repeat(64)}, the release's is ${d.map.pack.sha256}`],
  ]
  for (const [what, edit, reason] of wrongMaps) {
    it(`refuses a block map that ${what}`, async () => {
      const d = await buildDelta(V, 'linux-x86_64', sampleBinary(), { map: edit })
      if (what === 'is not JSON') d.mapBytes = new TextEncoder().encode('{"schema": 1, ')
      const { assets, blockmap } = await deltaRelease(d)
      expect(await refusedAfterAlarm(assets, { [blockmap.url]: d.mapBytes })).toBe(reason(d))
    })
  }

  it('keeps a live release serving when an update that adds differential assets is refused', async () => {
    await publish(V, { assets: [await archive(V, 'linux-x86_64'), await archive(V, 'darwin-arm64')] })
    const before = await stateSnapshot()
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary(), { map: (m) => ({ ...m, platform: 'darwin-arm64' }) })
    const { assets, blockmap } = await deltaRelease(d)
    serveBlockMaps({ [blockmap.url]: d.mapBytes })
    const r = await sendRelease({ action: 'edited', tag: `v${V}`, assets })
    expect(r.body.status).toBe('queued')
    // While the block map is fetched, the release keeps serving what it served.
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', pending: { file: d.names.blockmap } })
    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', reason: expect.stringMatching(/describes platform "darwin-arm64"/) })
    const after = await stateSnapshot()
    expect(after.seqs).toEqual(before.seqs)
    expect(after.manifests).toEqual(before.manifests)
    expect((await getManifest('beta')).payload.release!.assets['linux-x86_64']).not.toHaveProperty('binary')

    // The corrected block map is taken by the next edit: the live release gains `binary`.
    vi.restoreAllMocks()
    const good = await buildDelta(V, 'linux-x86_64', sampleBinary())
    const fixed = await deltaRelease(good)
    serveBlockMaps({ [fixed.blockmap.url]: good.mapBytes })
    await sendRelease({ action: 'edited', tag: `v${V}`, assets: fixed.assets })
    await runDurableObjectAlarm(stub())
    const m = await getManifest('beta')
    expect(m.payload.seq).toBe((before.seqs.find(([c]) => c === 'beta')![1] as number) + 1)
    expect(m.payload.release!.assets['linux-x86_64']!.binary?.sha256).toBe(await sha256(good.binary))
    expect((await auditLog()).filter((e) => e.action === 'release.soak_restarted')).toEqual([])
  })
})

describe('GET /v1/assets for block maps and packs (no mirror)', () => {
  it('redirects the content-addressed URLs of the block map and pack to their download URLs, and nothing else', async () => {
    const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
    // A second Linux archive that is not chosen, with differential assets of its own.
    const amd64 = `cco-${V}-linux-amd64.tar.gz`
    const other = await buildDelta(V, 'linux-x86_64', sampleBinary(9), { archiveName: amd64 })
    const otherAssets = await deltaAssets(V, other)
    const { assets, blockmap, pack } = await deltaRelease(d)
    serveBlockMaps({ [blockmap.url]: d.mapBytes, [otherAssets.blockmap.url]: other.mapBytes })
    await sendRelease({ action: 'published', tag: `v${V}`, assets: [...assets, await archive(V, 'linux-x86_64', { name: amd64 }), otherAssets.blockmap, otherAssets.pack] })
    await runDurableObjectAlarm(stub())
    const binary = (await getManifest('beta')).payload.release!.assets['linux-x86_64']!.binary!

    for (const [ref, source] of [
      [binary.blockmap, blockmap.url],
      [binary.pack, pack.url],
    ] as const) {
      const res = await exports.default.fetch(ref.url, { redirect: 'manual' })
      expect(res.status, ref.url).toBe(302)
      expect(res.headers.get('location')).toBe(source)
      expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    }
    // The name-only form stands for the current file of that name, as for archives.
    expect((await exports.default.fetch(`${BROKER}/v1/assets/${V}/${d.names.pack}`, { redirect: 'manual' })).headers.get('location')).toBe(pack.url)
    // Any spelling of the version that compares equal finds them; another version does not.
    for (const spelled of [`v${V}`, `${V}+rebuild`]) {
      for (const url of [assetUrl(spelled, binary.pack.sha256, d.names.pack), `${BROKER}/v1/assets/${spelled}/${d.names.blockmap}`]) {
        expect((await exports.default.fetch(url, { redirect: 'manual' })).headers.get('location'), url).toBe(url.includes('.chunks') ? pack.url : blockmap.url)
      }
    }

    const notFound = [
      // Another sha256 than the recorded one.
      assetUrl(V, 'a'.repeat(64), d.names.pack),
      // The same files under a version they do not belong to.
      assetUrl('2026.12.2', await sha256(d.pack), d.names.pack),
      `${BROKER}/v1/assets/2026.12.2/${d.names.blockmap}`,
      // The differential assets of the archive that was not chosen were never recorded.
      assetUrl(V, await sha256(other.pack), other.names.pack),
      assetUrl(V, await sha256(other.mapBytes), other.names.blockmap),
      // Names that only look like differential assets.
      assetUrl(V, await sha256(d.pack), `${d.names.pack}.exe`),
      assetUrl(V, await sha256(d.pack), 'checksums.chunks'),
    ]
    for (const url of notFound) {
      const res = await exports.default.fetch(url, { redirect: 'manual' })
      expect(res.status, url).toBe(404)
      await res.arrayBuffer()
    }
  })

  it('lets only archive names and their block map and pack names reach the object', () => {
    expect(mayBeRecordedAssetName(LINUX)).toBe(true)
    expect(mayBeRecordedAssetName(`cco-${V}-linux-x86_64.blockmap.json`)).toBe(true)
    expect(mayBeRecordedAssetName(`cco-${V}-windows-x86_64.chunks`)).toBe(true)
    expect(mayBeRecordedAssetName('checksums.chunks')).toBe(false)
    expect(mayBeRecordedAssetName(`cco-${V}-linux-x86_64.blockmap`)).toBe(false)
    expect(mayBeRecordedAssetName(`cco-${V}-linux-x86_64.chunks.sig`)).toBe(false)
    expect(mayBeRecordedAssetName(`cco-${V}-linux-x86_64.CHUNKS`)).toBe(false)
  })
})

describe('manifest size', () => {
  it('stays far below the 64 KiB cap with differential assets on five platforms', async () => {
    const plain = await Promise.all(PLATFORMS.map((p) => archive(V, p)))
    await publish(V, { assets: plain })
    const without = (await getManifest('beta')).body.length

    const V2 = '2026.12.2'
    const files: FixtureAsset[] = []
    const maps: Record<string, Uint8Array> = {}
    for (const [i, p] of PLATFORMS.entries()) {
      const d = await buildDelta(V2, p as Platform, sampleBinary(11 + i))
      const { blockmap, pack } = await deltaAssets(V2, d)
      files.push(await archive(V2, p), blockmap, pack)
      maps[blockmap.url] = d.mapBytes
    }
    serveBlockMaps(maps)
    await sendRelease({ action: 'published', tag: `v${V2}`, assets: files })
    await runDurableObjectAlarm(stub())
    const m = await getManifest('beta')
    expect(Object.values(m.payload.release!.assets).every((a) => a.binary)).toBe(true)
    const withDelta = m.body.length
    const perPlatform = (withDelta - without) / PLATFORMS.length
    console.log(`signed beta manifest, 5 platforms: ${without} bytes without differential assets, ${withDelta} with (+${perPlatform.toFixed(0)} bytes per platform; cap ${MANIFEST_MAX_BYTES})`)
    expect(withDelta).toBeLessThan(MANIFEST_MAX_BYTES / 8)
    expect(perPlatform).toBeLessThan(1024)
  })
})
