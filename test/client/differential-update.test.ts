// Differential updates with real processes: `cco update` rebuilds the new binary from the
// installed one and the missing chunks, fetched by range from a real HTTP server (and through a
// real proxy); a server that ignores Range, a chunk tampered in transit, a block map that is not
// the signed one or a rebuilt binary that is not the signed one each fall back to the archive,
// said once. Afterwards the installed binary is exactly B, or A untouched.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chunkAll, type BlockMap } from '../../contract/blockmap.ts'
import type { Asset } from '../../contract/manifest.ts'
import { canonicalAssetName } from '../../contract/platform.ts'
import { writeDeltaAssets } from '../../scripts/lib/blockmap-build.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show, type CcoRun } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, sha256, signManifest, type Signer } from '../../support/signed-manifest.ts'
import { startTinyproxy, TINYPROXY, type Tinyproxy } from '../support/tinyproxy.ts'
import { PLATFORM, tempDirs, VERSION_A, VERSION_B } from '../support/update-fixture.ts'

const MiB = 1024 * 1024
const fake = (version: string, body: Buffer) => Buffer.concat([Buffer.from(`#!/bin/sh\necho "cco ${version}"\nexit 0\n`), body])

// Two "binaries" that answer --version and share most of their 8 MiB: B has 3000 bytes
// inserted at 1 MiB and 2 KiB overwritten at 5 MiB.
const shared = randomBytes(8 * MiB)
const changed = Buffer.from(shared)
randomBytes(2048).copy(changed, 5 * MiB)
const A = fake(VERSION_A, shared)
const B = fake(VERSION_B, Buffer.concat([changed.subarray(0, MiB), randomBytes(3000), changed.subarray(MiB)]))

const name = canonicalAssetName(VERSION_B, PLATFORM)
const archive = releaseTarGz(B)

let dir: string
let server: ReleaseServer
let signer: Signer
let updater: string
let blockmapBytes: Buffer
let pack: Buffer
let map: BlockMap
let seq = 0
const homes: CcoHome[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cco-differential-'))
  writeFileSync(join(dir, 'cco'), B)
  const assets = await writeDeltaAssets({ binary: join(dir, 'cco'), archiveName: name, outDir: dir, version: VERSION_B, platform: PLATFORM })
  blockmapBytes = readFileSync(assets.blockmap)
  pack = readFileSync(assets.pack)
  map = assets.map
  server = await startReleaseServer()
  signer = await createSigner('test-key-1')
  updater = await clientBundle({ version: VERSION_A })
}, 120_000)
afterAll(async () => {
  await server?.close()
  for (const h of homes) h.cleanup()
  rmSync(dir, { recursive: true, force: true })
})

/** What the download host served for one published release (read after the run). */
interface Served {
  archive: number
  blockmap: number
  /** Each pack request's Range header, and the pack bytes sent. */
  ranges: string[]
  packBytes: number
  /** Redirects answered for the pack (redirectPack). */
  redirects: number
}

interface PublishOptions {
  /** Answer range requests for the pack with 200 and the whole pack. */
  ignoreRange?: boolean
  /** Flip one byte in the body of each pack range. */
  tamperRange?: boolean
  /** Serve these bytes as the block map (the manifest names the honest one's digest). */
  blockmapInstead?: Buffer
  /** The block map and the manifest claim this sha256 for the binary (the archive is honest). */
  binarySha256?: string
  /** Serve these bytes as the archive (the manifest names the honest one's digest). */
  archiveInstead?: Buffer
  /** No block map at its URL (404). */
  noBlockmap?: boolean
  /** Answer each range with the bytes asked for but a Content-Range one byte further on (a proxy that mangles ranges). */
  shiftContentRange?: boolean
  /** Send this many bytes more than the range asked for (with the asked Content-Range). */
  extraBytes?: number
  /** The manifest's pack URL answers 302 to where the pack is (as the broker's asset route does). */
  redirectPack?: boolean
}

/** Serves the archive, block map and pack of B under fresh paths and signs a manifest naming them. */
async function publish(o: PublishOptions = {}): Promise<Served> {
  const base = `/v1/assets/${VERSION_B}/${randomBytes(6).toString('hex')}`
  let mapBytes = blockmapBytes
  if (o.binarySha256) mapBytes = Buffer.from(`${JSON.stringify({ ...map, binary: { ...map.binary, sha256: o.binarySha256 } })}\n`)
  server.file(`${base}/${name}`, o.archiveInstead ?? archive)
  if (!o.noBlockmap) server.file(`${base}/blockmap.json`, o.blockmapInstead ?? mapBytes)
  const packPath = `${base}/pack.chunks`
  if (o.shiftContentRange) {
    server.route(packPath, (req, res) => {
      const [first, last] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')!.slice(1).map(Number) as [number, number]
      res.writeHead(206, { 'content-length': last - first + 1, 'content-range': `bytes ${first + 1}-${last + 1}/${pack.length}` })
      res.end(pack.subarray(first, last + 1))
    })
  } else {
    server.file(packPath, pack, {
      ignoreRange: o.ignoreRange,
      tamper: o.tamperRange
        ? (bytes) => ((bytes[bytes.length >> 1]! ^= 0x01), bytes)
        : o.extraBytes
          ? (bytes) => Buffer.concat([bytes, Buffer.alloc(o.extraBytes!, 0x55)])
          : undefined,
    })
  }
  server.route(`${base}/pack-redirect`, (_req, res) => {
    res.writeHead(302, { location: packPath })
    res.end()
  })
  const asset: Asset = {
    name,
    url: `${server.url}${base}/${name}`,
    size: archive.length,
    sha256: sha256(archive),
    binary: {
      size: B.length,
      sha256: o.binarySha256 ?? sha256(B),
      blockmap: { url: `${server.url}${base}/blockmap.json`, size: mapBytes.length, sha256: sha256(mapBytes) },
      pack: { url: `${server.url}${base}/${o.redirectPack ? 'pack-redirect' : 'pack.chunks'}`, size: pack.length, sha256: sha256(pack) },
    },
  }
  server.manifest('stable', await signManifest(manifestPayload({ version: VERSION_B, seq: ++seq, assets: { [PLATFORM]: asset } }), [signer]))
  // The server's request log (support/release-server.ts file() records status and bytes sent).
  const at = (file: string) => server.requests.filter((q) => q.path === `${base}/${file}`)
  const bytes = (file: string) => at(file).reduce((n, q) => n + (q.bytes ?? 0), 0)
  return {
    get archive() {
      return bytes(name)
    },
    get blockmap() {
      return bytes('blockmap.json')
    },
    get ranges() {
      return at('pack.chunks').map((q) => q.headers.range ?? '')
    },
    get packBytes() {
      return bytes('pack.chunks')
    },
    get redirects() {
      return at('pack-redirect').length
    },
  }
}

function host(installed: Buffer = A): CcoHome {
  const h = makeHome()
  homes.push(h)
  h.writeConfig({ server: server.url, keys: [signer.publicKey] })
  h.install(installed)
  return h
}

/** The real cco A updating the host's installed binary. */
const update = (h: CcoHome, args: string[] = [], env: Record<string, string> = {}) =>
  runCco(updater, ['update', '--yes', '--json', ...args], { home: h.home, env: { CCO_INSTALL_PATH: h.installPath, ...env } })

interface Download {
  bytes: number
  differential: boolean
  archive_bytes: number
}

function updatedToB(h: CcoHome, r: CcoRun): Download {
  expect(r.code, show(r)).toBe(0)
  const doc = JSON.parse(r.stdout) as { status: string; installed: { version: string; download: Download } }
  expect(doc.status).toBe('updated')
  expect(readFileSync(h.installPath).equals(B)).toBe(true)
  expect(readFileSync(h.backupPath).equals(A)).toBe(true)
  expect(tempDirs(h)).toEqual([])
  return doc.installed.download
}

const notUsed = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Differential update not used: '))

/** The chunks of B that A does not have, by the chunking rule applied here, not by the client. */
function missingPackRanges(): Array<[number, number]> {
  const inA = new Set(chunkAll(A).map(([o, l]) => sha256(A.subarray(o, o + l))))
  const out = new Map<number, number>()
  for (const [, , digest, at, length] of map.chunks) if (!inA.has(digest)) out.set(at, length)
  return [...out]
}

describe('differential update', () => {
  it('rebuilds B from A and the missing chunks, fetched by range, and never downloads the archive', async () => {
    const served = await publish()
    const h = host()
    const r = await update(h)
    const download = updatedToB(h, r)
    expect(notUsed(r.stderr)).toEqual([])
    expect(served.archive).toBe(0)
    expect(served.blockmap).toBe(blockmapBytes.length)
    // Every missing chunk was inside a requested range, and little else was.
    const missing = missingPackRanges()
    expect(missing.length).toBeGreaterThan(0)
    const asked = served.ranges.map((v) => /^bytes=(\d+)-(\d+)$/.exec(v)!.slice(1).map(Number) as [number, number])
    for (const [at, length] of missing) expect(asked.some(([f, l]) => f <= at && at + length - 1 <= l)).toBe(true)
    const needed = missing.reduce((n, [, l]) => n + l, 0)
    expect(served.packBytes).toBeGreaterThanOrEqual(needed)
    expect(served.packBytes).toBeLessThanOrEqual(needed + (asked.length - 1) * 64 * 1024)
    expect(download).toEqual({ bytes: blockmapBytes.length + served.packBytes, differential: true, archive_bytes: archive.length })
    expect(download.bytes).toBeLessThan(archive.length / 10)
  })

  it('sends Range again after a redirect of the pack URL', async () => {
    const served = await publish({ redirectPack: true })
    const h = host()
    const download = updatedToB(h, await update(h))
    expect(download.differential).toBe(true)
    expect(served.redirects).toBe(served.ranges.length)
    expect(served.ranges.every((v) => /^bytes=\d+-\d+$/.test(v))).toBe(true)
    expect(served.archive).toBe(0)
  })

  it('says what it downloaded in the human output', async () => {
    await publish()
    const h = host()
    const r = await runCco(updater, ['update', '--yes'], { home: h.home, env: { CCO_INSTALL_PATH: h.installPath } })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^→ Downloaded \\d+ KiB of ${(archive.length / MiB).toFixed(1)} MiB \\(differential\\)$`, 'm'))
    expect(readFileSync(h.installPath).equals(B)).toBe(true)
  })

  it.skipIf(!existsSync('/usr/bin/script'))('draws the progress bar over the bytes it transfers, not the archive', async () => {
    const served = await publish()
    const h = host()
    // A real terminal (util-linux `script`), as test/client/progress-pty.test.ts does.
    const command = `stty cols 160 rows 40; exec ${updater} update --yes`
    const r = await runCco('/usr/bin/script', ['-qfec', command, '/dev/null'], { home: h.home, env: { TERM: 'xterm-256color', CCO_INSTALL_PATH: h.installPath } })
    expect(r.code, show(r)).toBe(0)
    expect(readFileSync(h.installPath).equals(B)).toBe(true)
    const total = ((blockmapBytes.length + served.packBytes) / MiB).toFixed(1)
    expect(total).not.toBe((archive.length / MiB).toFixed(1))
    expect(r.stdout).toMatch(new RegExp(`${name.replaceAll('.', '\\.')} \\(differential\\) \\[[\u2588\u2591]+\\] \\d{1,3}% \\| \\d+\\.\\d/${total.replace('.', '\\.')} MiB \\|`))
  })

  it('downloads only the archive with --full', async () => {
    const served = await publish()
    const h = host()
    const download = updatedToB(h, await update(h, ['--full']))
    expect({ ...served }).toEqual({ archive: archive.length, blockmap: 0, ranges: [], packBytes: 0, redirects: 0 })
    expect(download).toEqual({ bytes: archive.length, differential: false, archive_bytes: archive.length })
  })

  describe.skipIf(!TINYPROXY)('through tinyproxy', () => {
    let proxy: Tinyproxy
    beforeAll(async () => {
      proxy = await startTinyproxy()
    })
    afterAll(() => proxy?.stop())

    it('fetches the block map and the ranges through HTTP_PROXY', async () => {
      const served = await publish()
      const h = host()
      const download = updatedToB(h, await update(h, [], { HTTP_PROXY: proxy.url }))
      expect(download.differential).toBe(true)
      expect(served.archive).toBe(0)
      const log = proxy.log()
      expect(log).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v1\/assets\/[^ ]+\/blockmap\.json/)
      expect(log.match(/GET http:\/\/127\.0\.0\.1:\d+\/v1\/assets\/[^ ]+\/pack\.chunks/g)?.length).toBe(served.ranges.length)
    })
  })
})

describe('falls back to the archive, said once', () => {
  async function fallsBack(o: PublishOptions, reason: RegExp): Promise<{ served: Served; download: Download }> {
    const served = await publish(o)
    const h = host()
    const r = await update(h)
    const download = updatedToB(h, r)
    const lines = notUsed(r.stderr)
    expect(lines, r.stderr).toHaveLength(1)
    expect(lines[0]).toMatch(reason)
    expect(lines[0]).toMatch(new RegExp(`; downloading the full archive \\(${(archive.length / MiB).toFixed(1)} MiB\\)$`))
    expect(served.archive).toBe(archive.length)
    expect(download.differential).toBe(false)
    expect(download.archive_bytes).toBe(archive.length)
    return { served, download }
  }

  it('when the server ignores Range', async () => {
    const { served, download } = await fallsBack({ ignoreRange: true }, /the download server ignored Range \(HTTP 200 instead of 206\)/)
    expect(download.bytes).toBeGreaterThanOrEqual(blockmapBytes.length + archive.length)
    expect(served.ranges.length).toBeGreaterThan(0)
  })

  it('when a chunk was changed in transit', async () => {
    await fallsBack({ tamperRange: true }, /chunk [0-9a-f]{12} does not (match its sha256|inflate)/)
  })

  it('when the block map is not the one the manifest signed', async () => {
    // The same size, one byte different.
    const other = Buffer.from(blockmapBytes)
    other[3]! ^= 0x01
    const { served } = await fallsBack({ blockmapInstead: other }, /the block map's sha256 does not match the signed manifest/)
    expect(served.ranges).toEqual([])
  })

  it('when a range comes back with another Content-Range', async () => {
    await fallsBack({ shiftContentRange: true }, /a range was answered with Content-Range "bytes \d+-\d+\/\d+", expected bytes \d+-\d+\/\d+/)
  })

  it('when a range comes back longer than asked, reading no more than was asked', async () => {
    const { download, served } = await fallsBack({ extraBytes: 256 * 1024 }, /more bytes than asked for bytes \d+-\d+\/\d+/)
    // What was read of the ranges stays within what was asked (plus at most one network chunk).
    expect(download.bytes - archive.length - blockmapBytes.length).toBeLessThan(served.packBytes)
  })

  it('when the missing chunks would cost more than half the archive, without asking for any range', async () => {
    const served = await publish()
    // An installed binary that shares nothing with B.
    const other = fake(VERSION_A, randomBytes(shared.length))
    const h = host(other)
    const r = await update(h)
    expect(r.code, show(r)).toBe(0)
    expect(readFileSync(h.installPath).equals(B)).toBe(true)
    expect(readFileSync(h.backupPath).equals(other)).toBe(true)
    const lines = notUsed(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^Differential update not used: the block map and the \d+ missing chunks \([\d.]+ MiB\) are more than half the archive; downloading the full archive/)
    expect(served.ranges).toEqual([])
    expect(served.archive).toBe(archive.length)
  })

  it('when there is no block map', async () => {
    await fallsBack({ noBlockmap: true }, /the block map could not be fetched \(HTTP 404\)/)
  })

  it('when the rebuilt binary is not the one the manifest signed, and the archive is', async () => {
    await fallsBack({ binarySha256: sha256('not B') }, /the rebuilt binary does not match the signed manifest/)
  })

  it('and refuses with A untouched when the archive is wrong too', async () => {
    const bad = Buffer.from(archive)
    bad[100]! ^= 1
    await publish({ binarySha256: sha256('not B'), archiveInstead: bad })
    const h = host()
    const r = await update(h)
    expect(r.code, show(r)).toBe(4)
    expect(notUsed(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^Checksum verification failed/m)
    expect(readFileSync(h.installPath).equals(A)).toBe(true)
    expect(existsSync(h.backupPath)).toBe(false)
    expect(tempDirs(h)).toEqual([])
  })
})
