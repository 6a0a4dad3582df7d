// announceRelease with the differential assets, against the real broker (`wrangler dev`): the
// block map and chunk pack are served at GitHub's download path beside the archive and listed
// in the webhook with GitHub's digests, or without one, or with a wrong one, as asked.
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlockMapSchema, deltaAssetNames } from '../../contract/blockmap.ts'
import { canonicalAssetName } from '../../contract/platform.ts'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { rebuildFromPack } from '../support/chunk-pack.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let broker: DevBroker
let downloads: ReleaseServer
// A "binary" of a few chunks, half of it repeated.
const half = randomBytes(300 * 1024)
const BINARY = Buffer.concat([Buffer.from('#!/bin/sh\necho cco\nexit 0\n'), half, randomBytes(200 * 1024), half])

beforeAll(async () => {
  ;[broker, downloads] = await Promise.all([startBroker({ vars: { ASSET_HOSTS: '127.0.0.1' } }), startReleaseServer()])
}, 60_000)
afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
})

interface PayloadAsset {
  name: string
  size: number
  digest?: string
  browser_download_url: string
}
const assetsOf = (payload: Record<string, unknown>) => (payload.release as { assets: PayloadAsset[] }).assets

async function served(path: string): Promise<Buffer> {
  const res = await fetch(`${downloads.url}${path}`)
  expect(res.status).toBe(200)
  return Buffer.from(await res.arrayBuffer())
}

describe('announceRelease with delta', () => {
  it('serves the block map and chunk pack beside the archive and lists them with their digests', async () => {
    const version = '2026.12.1'
    const a = await announceRelease(broker, downloads, { version, binary: BINARY, platform: 'linux-x86_64', delta: true })
    expect([200, 202], broker.output()).toContain(a.hook.status)
    const archiveName = canonicalAssetName(version, 'linux-x86_64')
    const names = deltaAssetNames(archiveName)!
    const base = `/cco-dev/cco/releases/download/v${version}`
    expect(a.delta).toMatchObject({ blockmapPath: `${base}/${names.blockmap}`, packPath: `${base}/${names.pack}` })

    const blockmap = await served(a.delta!.blockmapPath)
    const pack = await served(a.delta!.packPath)
    const map = BlockMapSchema.parse(JSON.parse(blockmap.toString('utf8')))
    expect(map).toMatchObject({ version, platform: 'linux-x86_64', binary: { size: BINARY.length, sha256: sha256(BINARY) }, pack: { name: names.pack, sha256: sha256(pack) } })
    expect(rebuildFromPack(map, pack).equals(BINARY)).toBe(true)

    expect(assetsOf(a.payload).map((x) => [x.name, x.size, x.digest, x.browser_download_url])).toEqual([
      [archiveName, a.archive.length, `sha256:${sha256(a.archive)}`, `${downloads.url}${base}/${archiveName}`],
      [names.blockmap, blockmap.length, `sha256:${sha256(blockmap)}`, `${downloads.url}${a.delta!.blockmapPath}`],
      [names.pack, pack.length, `sha256:${sha256(pack)}`, `${downloads.url}${a.delta!.packPath}`],
    ])
    // Served with ranges, as GitHub's download host does.
    const range = await fetch(`${downloads.url}${a.delta!.packPath}`, { headers: { range: 'bytes=0-9' } })
    expect(range.status).toBe(206)
    expect(Buffer.from(await range.arrayBuffer()).equals(pack.subarray(0, 10))).toBe(true)
  })

  it('lists a block map without a digest, or with the digest of other bytes, when asked', async () => {
    const none = await announceRelease(broker, downloads, { version: '2026.12.2', binary: BINARY, platform: 'linux-x86_64', delta: { blockmapDigest: 'none' } })
    const [, noneMap, nonePack] = assetsOf(none.payload)
    expect(noneMap!.name).toMatch(/\.blockmap\.json$/)
    expect(noneMap).not.toHaveProperty('digest')
    expect(nonePack!.digest).toBe(`sha256:${sha256(none.delta!.pack)}`)

    const wrong = await announceRelease(broker, downloads, { version: '2026.12.3', binary: BINARY, platform: 'linux-x86_64', delta: { blockmapDigest: 'wrong', packDigest: 'wrong' } })
    const [, wrongMap, wrongPack] = assetsOf(wrong.payload)
    expect(wrongMap!.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(wrongMap!.digest).not.toBe(`sha256:${sha256(wrong.delta!.blockmap)}`)
    expect(wrongPack!.digest).not.toBe(`sha256:${sha256(wrong.delta!.pack)}`)
  })

  it('serves other block map bytes than the digest names, when asked', async () => {
    const a = await announceRelease(broker, downloads, {
      version: '2026.12.4',
      binary: BINARY,
      platform: 'linux-x86_64',
      delta: { blockmapBytes: (b) => Buffer.from(b.toString('utf8').replace('"schema":1', '"schema":1 ')) },
    })
    const blockmap = await served(a.delta!.blockmapPath)
    expect(blockmap.equals(a.delta!.blockmap)).toBe(false)
    expect(assetsOf(a.payload)[1]!.digest).toBe(`sha256:${sha256(a.delta!.blockmap)}`)
    expect(assetsOf(a.payload)[1]!.size).toBe(blockmap.length)
  })
})
