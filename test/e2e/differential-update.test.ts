// A differential update end to end: two real release builds of the host's platform (the same
// Node runtime; B's bundle carries a little more code, as a real next release would), the real
// broker under `wrangler dev` recording B's block map and chunk pack from a `release` webhook,
// and the download stand-in honouring `Range` behind the broker's asset redirects. The single
// executable A, installed on a host, runs `cco update` and rebuilds B from its own bytes and the
// chunks it lacks: the archive is never downloaded, and the install path ends up holding exactly
// B's binary.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deltaAssetNames } from '../../contract/blockmap.ts'
import type { ManifestPayload } from '../../contract/manifest.ts'
import { binaryName, canonicalAssetName } from '../../contract/platform.ts'
import { buildRelease } from '../../scripts/lib/release-build.ts'
import { defaultCacheDir, hostPlatform } from '../../scripts/lib/sea.ts'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const A = '2026.12.1'
const B = '2026.12.2'
// A Linux or macOS host: the .tar.gz path (Windows builds a .zip; the same code, not run here).
const platform = process.platform === 'win32' ? null : hostPlatform()

let work: string
let broker: DevBroker
let downloads: ReleaseServer
let host: CcoHome
let binaryB: Buffer
let archiveB: string
let binaryA: Buffer

/** Extracts the binary of a built archive into `dir`. */
function extract(archive: string, dir: string): string {
  mkdirSync(dir, { recursive: true })
  const r = spawnSync('tar', ['-xzf', archive, '-C', dir])
  if (r.status !== 0) throw new Error(`tar -xzf ${archive}: ${r.stderr}`)
  return join(dir, binaryName(platform!))
}

beforeAll(async () => {
  if (!platform) return
  work = mkdtempSync(join(tmpdir(), 'cco-e2e-differential-'))
  const brokerStarting = startBroker({ vars: { ASSET_HOSTS: '127.0.0.1', STABLE_FROM_RELEASES: 'true' } })
  brokerStarting.catch(() => {})
  try {
    // One after the other: each injects and packs a ~120 MiB binary.
    const a = await buildRelease({ version: A, platforms: [platform], outDir: join(work, 'a'), cacheDir: defaultCacheDir() })
    const b = await buildRelease({
      version: B,
      platforms: [platform],
      outDir: join(work, 'b'),
      cacheDir: defaultCacheDir(),
      extraCode: 'globalThis.ccoReleaseNote = function ccoReleaseNote(){ return "differential updates download only the chunks that changed" };',
    })
    binaryA = readFileSync(extract(a.artifacts[0]!.archive, join(work, 'x-a')))
    archiveB = b.artifacts[0]!.archive
    binaryB = readFileSync(extract(archiveB, join(work, 'x-b')))
  } finally {
    broker = await brokerStarting
  }
  downloads = await startReleaseServer()
  host = makeHome('cco-e2e-differential-home-')
  host.writeConfig({ server: broker.url, keys: [broker.secrets.publicKey] })
  host.install(binaryA)
}, 600_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  host?.cleanup()
  if (work) rmSync(work, { recursive: true, force: true })
})

/** The stable channel's manifest payload as the broker serves it now. */
async function stablePayload(): Promise<ManifestPayload> {
  const res = await fetch(`${broker.url}/v1/channels/stable/manifest`, { headers: { 'cache-control': 'no-cache' } })
  const jws = JSON.parse(new TextDecoder().decode(await res.arrayBuffer())) as { payload: string }
  return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as ManifestPayload
}

describe.skipIf(!platform)('two real release builds', () => {
  it('updates the single executable A to B with the changed chunks only', { timeout: 180_000 }, async () => {
    const announced = await announceRelease(broker, downloads, { version: B, binary: binaryB, archive: archiveB, delta: true })
    // 202: queued, the broker fetches and checks the block map in its alarm; the manifest offers it after.
    expect([200, 202], broker.output()).toContain(announced.hook.status)
    let payload = await stablePayload()
    for (let i = 0; i < 300 && !payload.release?.assets[platform!]?.binary; i++) {
      await new Promise((r) => setTimeout(r, 100))
      payload = await stablePayload()
    }
    const asset = payload.release!.assets[platform!]!
    expect(asset.binary, broker.output()).toMatchObject({ size: binaryB.length })

    const r = await runCco(host.installPath, ['update', '--yes', '--json'], { home: host.home, timeoutMs: 120_000 })
    expect(r.code, show(r)).toBe(0)
    expect(r.stderr).not.toContain('Differential update not used')
    const doc = JSON.parse(r.stdout) as { installed: { version: string; download: { bytes: number; differential: boolean; archive_bytes: number } } }
    expect(doc.installed.version).toBe(B)
    expect(readFileSync(host.installPath).equals(binaryB)).toBe(true)
    expect(readFileSync(host.backupPath).equals(binaryA)).toBe(true)
    const run = spawnSync(host.installPath, ['--version'], { encoding: 'utf8' })
    expect(run.stdout).toBe(`cco ${B}\n`)

    // What crossed the network: the block map and ranges of the pack, never the archive.
    const download = doc.installed.download
    const names = deltaAssetNames(canonicalAssetName(B, platform!))!
    // The host's requests (the broker fetched the block map too, to check it).
    const byHost = (name: string) => downloads.requests.filter((q) => q.path.endsWith(`/${name}`) && String(q.headers['user-agent']).startsWith('cco/'))
    const served = (name: string) => byHost(name).reduce((n, q) => n + (q.bytes ?? 0), 0)
    const packRequests = byHost(names.pack)
    expect(served(canonicalAssetName(B, platform!))).toBe(0)
    expect(packRequests.length).toBeGreaterThan(0)
    expect(packRequests.every((q) => q.status === 206 && q.range !== undefined)).toBe(true)
    expect(download).toEqual({ bytes: served(names.blockmap) + served(names.pack), differential: true, archive_bytes: asset.size })
    // The target: at most 10 % of the archive when only cco's own code changed.
    expect(download.bytes).toBeLessThanOrEqual(asset.size / 10)
    process.stderr.write(
      `differential ${A} -> ${B} (${platform}): ${download.bytes} bytes (block map ${served(names.blockmap)}, ${packRequests.length} ranges ${served(names.pack)}) of a ${asset.size}-byte archive (${((100 * download.bytes) / asset.size).toFixed(1)} %)\n`,
    )
  })
})
