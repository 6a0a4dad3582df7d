// Differential assets with the R2 asset mirror on (the `worker-mirror` project): the alarm
// copies and verifies each block map and chunk pack like an archive, the release goes live only
// then, and GET /v1/assets serves the pack from R2 by `Range`, so a host fetches one chunk
// with one request. The download host is a stand-in at `fetch`, as in mirror.test.ts.
import { reset, runDurableObjectAlarm } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { MIRROR_MAX_ATTEMPTS } from '../../worker/broker/broker.ts'
import type { FixtureAsset } from '../../support/github.ts'
import { buildDelta, bytesOf, deltaAssets, downloadUrl, sampleBinary, sha256 } from './delta-fixtures.ts'
import { fakeNetwork, freshManifest as getManifest, makeAlarmJobsDue, sendRelease, stub } from './helpers.ts'

const V = '2026.12.1'
const NAME = canonicalAssetName(V, 'linux-x86_64')

beforeEach(() => vi.restoreAllMocks())
afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})


const serve = (bytes: Uint8Array) => () => new Response(bytes, { headers: { 'content-length': String(bytes.length) } })
const storedKeys = async () => (await env.ASSETS_BUCKET.list()).objects.map((o) => o.key).sort()

async function inflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/** A release of V: the linux archive (real bytes), its block map and its pack, all with digests. */
async function release(o: { packServed?: Uint8Array } = {}) {
  const d = await buildDelta(V, 'linux-x86_64', sampleBinary())
  const archiveBytes = bytesOf(4000, 3)
  const archive: FixtureAsset = { name: NAME, url: downloadUrl(V, NAME), size: archiveBytes.length, digest: `sha256:${await sha256(archiveBytes)}` }
  const { blockmap, pack } = await deltaAssets(V, d)
  const net = fakeNetwork({ [archive.url]: serve(archiveBytes), [blockmap.url]: serve(d.mapBytes), [pack.url]: serve(o.packServed ?? d.pack) })
  return { d, archiveBytes, assets: [archive, blockmap, pack], net, urls: { archive: archive.url, blockmap: blockmap.url, pack: pack.url } }
}

describe('mirroring differential assets', () => {
  it('copies and verifies the block map and pack with the archive, then serves one chunk of the pack by Range from R2', async () => {
    const { d, archiveBytes, assets, net, urls } = await release()
    const r = await sendRelease({ action: 'published', tag: `v${V}`, assets })
    expect(r.body.status).toBe('queued')

    expect(await runDurableObjectAlarm(stub())).toBe(true)
    // The block map first (the fetch job), then every file into the mirror.
    expect(net.asked).toEqual([urls.blockmap, urls.archive, urls.blockmap, urls.pack])
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live', mirror: null, pending: null })
    const [archiveSha, mapSha, packSha] = [await sha256(archiveBytes), await sha256(d.mapBytes), await sha256(d.pack)]
    expect(await storedKeys()).toEqual([`assets/${V}/${archiveSha}/${NAME}`, `assets/${V}/${mapSha}/${d.names.blockmap}`, `assets/${V}/${packSha}/${d.names.pack}`].sort())

    const binary = (await getManifest('beta')).payload.release!.assets['linux-x86_64']!.binary!
    expect(binary.pack).toMatchObject({ sha256: packSha, size: d.pack.length })

    // A chunk the way a client fetches it: its pack range, inflated alone, has the chunk's sha256.
    const [offset, length, chunkSha, packOffset, packLength] = d.map.chunks[3]!
    const part = await exports.default.fetch(binary.pack.url, { headers: { range: `bytes=${packOffset}-${packOffset + packLength - 1}` } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes ${packOffset}-${packOffset + packLength - 1}/${d.pack.length}`)
    expect(part.headers.get('cache-control')).toMatch(/immutable/)
    const chunk = await inflateRaw(new Uint8Array(await part.arrayBuffer()))
    expect(chunk.length).toBe(length)
    expect(await sha256(chunk)).toBe(chunkSha)
    expect(chunk).toEqual(d.binary.subarray(offset, offset + length))

    const map = await exports.default.fetch(binary.blockmap.url)
    expect(map.status).toBe(200)
    expect(await sha256(new Uint8Array(await map.arrayBuffer()))).toBe(mapSha)
    // Served from R2: nothing more was asked of the download host.
    expect(net.asked).toHaveLength(4)

    // Any spelling of the version finds the copy; a path segment that is no version, or a name
    // that no release could record, finds nothing, even where it spells an existing key (here
    // the pre-sha256 key `assets/{version}/{name}` of version `V/{sha256}` is the pack's key).
    const base = 'https://broker.example/v1/assets'
    const spelled = await exports.default.fetch(`${base}/v${V}/${packSha}/${d.names.pack}`, { headers: { range: 'bytes=0-0' } })
    expect(spelled.status).toBe(206)
    await spelled.arrayBuffer()
    for (const path of [`${encodeURIComponent(`${V}/${packSha}`)}/${packSha}/${d.names.pack}`, `${V}/${packSha}/${encodeURIComponent(`../${d.names.pack}`)}`]) {
      const res = await exports.default.fetch(`${base}/${path}`)
      expect(res.status, path).toBe(404)
      await res.arrayBuffer()
    }
  })

  it('copies the block map and pack that an edit adds to a live release before its manifest names them', async () => {
    const { d, assets, net, urls } = await release()
    await sendRelease({ action: 'published', tag: `v${V}`, assets: assets.slice(0, 1) })
    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V)).toMatchObject({ status: 'live' })
    const before = await getManifest('beta')
    expect(before.payload.release!.assets['linux-x86_64']).not.toHaveProperty('binary')

    const edited = await sendRelease({ action: 'edited', tag: `v${V}`, assets })
    expect(edited.body.status).toBe('queued')
    await runDurableObjectAlarm(stub())
    // The archive's copy is already there: only the block map and pack were downloaded for the mirror.
    expect(net.asked).toEqual([urls.archive, urls.blockmap, urls.blockmap, urls.pack])
    expect((await storedKeys()).filter((k) => k.endsWith(d.names.pack) || k.endsWith(d.names.blockmap))).toHaveLength(2)
    const after = await getManifest('beta')
    expect(after.payload.seq).toBe(before.payload.seq + 1)
    const binary = after.payload.release!.assets['linux-x86_64']!.binary!
    const res = await exports.default.fetch(binary.pack.url, { headers: { range: 'bytes=0-0' } })
    expect(res.status).toBe(206)
    await res.arrayBuffer()
  })

  it('refuses the release when the pack downloaded for the mirror does not match its digest, and keeps no copy of it', async () => {
    const tampered = (await buildDelta(V, 'linux-x86_64', sampleBinary())).pack.slice()
    tampered[10] = tampered[10]! ^ 0xff
    const { d, assets } = await release({ packServed: tampered })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    expect(await stub().getRelease(V)).toMatchObject({ status: 'mirroring', mirror: { attempts: 1, last_error: expect.stringMatching(new RegExp(`^${d.names.pack.replaceAll('.', '\\.')}: sha256 mismatch`)) } })
    for (let attempt = 2; attempt <= MIRROR_MAX_ATTEMPTS; attempt++) {
      await makeAlarmJobsDue()
      await runDurableObjectAlarm(stub())
    }
    const r = await stub().getRelease(V)
    expect(r?.status).toBe('refused')
    expect(r?.reason).toBe(`asset mirror copy failed after ${MIRROR_MAX_ATTEMPTS} attempts: ${d.names.pack}: sha256 mismatch (got ${await sha256(tampered)}, expected ${await sha256(d.pack)})`)
    expect((await storedKeys()).filter((k) => k.endsWith('.chunks'))).toEqual([])
    expect((await getManifest('beta')).payload.release).toBeNull()
  })
})
