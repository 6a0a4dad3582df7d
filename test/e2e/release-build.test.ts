// The release build end to end: `scripts/build-release.ts` (what `npm run build:release`
// runs) makes version B for all five platforms and version A for Linux x86_64, with the
// broker URL and its signing key built in. The archives and checksums.txt are checked with
// the real `sha256sum`, `tar` and `unzip`; the Linux single executable answers `--version`,
// `version` and `update --check` with no config file at all, and updates itself A → B from
// the real broker (`wrangler dev`), which read the digests from our checksums.txt.
//
// Slow by nature (each injection rewrites a ~120 MB binary): everything is built once in
// beforeAll. The other platforms' Node binaries come from the npm registry on the first run
// and from ~/.cache/cco-build afterwards.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentPlatform } from '../../client/src/context.ts'
import { BlockMapSchema, deltaAssetNames } from '../../contract/blockmap.ts'
import { binaryName, canonicalAssetName, PLATFORMS, type Platform } from '../../contract/platform.ts'
import { writeDeltaAssets } from '../../scripts/lib/blockmap-build.ts'
import { generateDevSecrets } from '../../scripts/lib/dev-secrets.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { releasePayload } from '../../support/github.ts'
import { freePort } from '../../support/ports.ts'
import { mustSucceed, runReleaseBuild } from '../../support/release-build.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { rebuildFromPack } from '../support/chunk-pack.ts'

const A = '2026.11.25'
const B = '2026.11.26'
const onLinuxX64 = currentPlatform() === 'linux-x86_64'

let work: string
let outA: string
let outB: string
let broker: DevBroker
let downloads: ReleaseServer
const homes: CcoHome[] = []

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cco-release-build-'))
  outA = join(work, 'out-a')
  outB = join(work, 'out-b')
  // The broker's address and key must be known before the build, which bakes them in.
  const [port, secrets] = await Promise.all([freePort(), generateDevSecrets()])
  const common = ['--server', `http://127.0.0.1:${port}`, '--trust-key', `${secrets.publicKey.kid}:${secrets.publicKey.x}`]
  const brokerStarting = startBroker({ port, secrets, vars: { ASSET_HOSTS: '127.0.0.1' } })
  brokerStarting.catch(() => {})
  try {
    const b = await runReleaseBuild(['--version', B, '--out', outB, ...common])
    mustSucceed(`build:release --version ${B} (all platforms)`, b)
    process.stderr.write(`release build of ${B}, five platforms: ${b.seconds.toFixed(1)} s\n${b.stdout}`)
    const host = currentPlatform()
    if (host) {
      const a = await runReleaseBuild(['--version', A, '--platforms', host, '--out', outA, ...common])
      mustSucceed(`build:release --version ${A} (${host})`, a)
    }
  } finally {
    broker = await brokerStarting
  }
  downloads = await startReleaseServer()
}, 420_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  for (const h of homes) h.cleanup()
  if (work) rmSync(work, { recursive: true, force: true })
})

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

const archives = (version: string) => PLATFORMS.map((p) => canonicalAssetName(version, p))
/** Every file a build of `version` publishes besides checksums.txt: each archive, its block map and its chunk pack. */
const published = (version: string) => archives(version).flatMap((a) => [a, deltaAssetNames(a)!.blockmap, deltaAssetNames(a)!.pack])

describe('the archives', () => {
  it('are five, one per platform, each with its block map and chunk pack, plus a checksums.txt over all of them that sha256sum -c accepts', () => {
    expect(readdirSync(outB).sort()).toEqual([...published(B), 'checksums.txt'].sort())
    const lines = readFileSync(join(outB, 'checksums.txt'), 'utf8').split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.map((l) => l.slice(66))).toEqual([...published(B)].sort())
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]{64} {2}cco-2026\.11\.26-[a-z0-9_-]+\.(tar\.gz|zip|blockmap\.json|chunks)$/)

    const check = spawnSync('sha256sum', ['-c', 'checksums.txt'], { cwd: outB, encoding: 'utf8' })
    expect(check.status, check.stdout + check.stderr).toBe(0)
    expect(check.stdout.trim().split('\n').sort()).toEqual([...published(B)].sort().map((n) => `${n}: OK`))
  })

  // The executable format each platform's binary must have: ELF machine, Mach-O CPU type, PE machine.
  const FORMAT: Record<Platform, (head: Buffer) => boolean> = {
    'linux-x86_64': (h) => h.readUInt32BE(0) === 0x7f454c46 && h.readUInt16LE(18) === 0x3e,
    'linux-aarch64': (h) => h.readUInt32BE(0) === 0x7f454c46 && h.readUInt16LE(18) === 0xb7,
    'darwin-x86_64': (h) => h.readUInt32LE(0) === 0xfeedfacf && h.readUInt32LE(4) === 0x01000007,
    'darwin-arm64': (h) => h.readUInt32LE(0) === 0xfeedfacf && h.readUInt32LE(4) === 0x0100000c,
    'windows-x86_64': (h) => h.toString('latin1', 0, 2) === 'MZ' && h.toString('latin1', h.readUInt32LE(0x3c), h.readUInt32LE(0x3c) + 4) === 'PE\0\0' && h.readUInt16LE(h.readUInt32LE(0x3c) + 4) === 0x8664,
  }

  it.each(PLATFORMS)('%s: holds exactly the executable at its root, of the right format, with the bundle injected', (platform) => {
    const archive = join(outB, canonicalAssetName(B, platform))
    const name = binaryName(platform)
    const dir = mkdtempSync(join(work, `x-${platform}-`))
    try {
      if (archive.endsWith('.zip')) {
        const list = spawnSync('unzip', ['-Z', archive], { encoding: 'utf8' })
        expect(list.status, list.stderr).toBe(0)
        const entries = list.stdout.split('\n').filter((l) => /^[-dl][rwx-]{9}/.test(l))
        expect(entries).toHaveLength(1)
        expect(entries[0]).toMatch(new RegExp(`^-rwxr-xr-x .* ${name.replace('.', '\\.')}$`))
        expect(spawnSync('unzip', ['-q', archive, '-d', dir]).status).toBe(0)
      } else {
        const list = spawnSync('tar', ['-tvzf', archive], { encoding: 'utf8' })
        expect(list.status, list.stderr).toBe(0)
        const entries = list.stdout.trim().split('\n')
        expect(entries).toHaveLength(1)
        expect(entries[0]).toMatch(new RegExp(`^-rwxr-xr-x .* ${name}$`))
        expect(spawnSync('tar', ['-xzf', archive, '-C', dir]).status).toBe(0)
      }
      expect(readdirSync(dir)).toEqual([name])
      const binary = readFileSync(join(dir, name))
      expect(FORMAT[platform](binary.subarray(0, 4096)), `${platform} executable format`).toBe(true)
      // postject flips the fuse from :0 to :1 when it injects the blob.
      expect(binary.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1')).toBe(true)
      expect(binary.includes(`"2026.11.26"`)).toBe(true)
      if (platform.startsWith('darwin-')) {
        // Node looks for the blob in segment NODE_SEA, section __NODE_SEA_BLOB, of the load commands.
        const loadCommands = binary.subarray(0, 32 + binary.readUInt32LE(20))
        expect(loadCommands.includes(Buffer.concat([Buffer.from('NODE_SEA'), Buffer.alloc(8)]))).toBe(true)
        expect(loadCommands.includes('__NODE_SEA_BLOB')).toBe(true)
      }

      // The block map describes exactly this binary, and the pack rebuilds it chunk by chunk.
      const delta = deltaAssetNames(canonicalAssetName(B, platform))!
      const map = BlockMapSchema.parse(JSON.parse(readFileSync(join(outB, delta.blockmap), 'utf8')))
      expect(map).toMatchObject({ version: B, platform, binary: { size: binary.length, sha256: sha256(binary) } })
      const pack = readFileSync(join(outB, delta.pack))
      expect(map.pack).toEqual({ name: delta.pack, size: pack.length, sha256: sha256(pack), compression: 'deflate-raw' })
      expect(rebuildFromPack(map, pack).equals(binary)).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the differential assets', () => {
  it('are the same bytes when made again from the same binary, one chunk at a time', { timeout: 120_000 }, async () => {
    const platform: Platform = 'linux-x86_64'
    const archiveName = canonicalAssetName(B, platform)
    const dir = mkdtempSync(join(work, 'again-'))
    try {
      expect(spawnSync('tar', ['-xzf', join(outB, archiveName), '-C', dir]).status).toBe(0)
      const again = await writeDeltaAssets({ binary: join(dir, 'cco'), archiveName, outDir: dir, version: B, platform, inFlight: 1 })
      const names = deltaAssetNames(archiveName)!
      expect(readFileSync(again.pack).equals(readFileSync(join(outB, names.pack)))).toBe(true)
      expect(readFileSync(again.blockmap, 'utf8')).toBe(readFileSync(join(outB, names.blockmap), 'utf8'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** A temporary HOME with the single executable of `version` at ~/.local/bin/cco and no config. */
function hostWith(out: string, version: string): CcoHome {
  const h = makeHome('cco-e2e-sea-')
  homes.push(h)
  mkdirSync(h.binDir, { recursive: true })
  const r = spawnSync('tar', ['-xzf', join(out, canonicalAssetName(version, 'linux-x86_64')), '-C', h.binDir])
  expect(r.status).toBe(0)
  return h
}

function sha256File(path: string): string {
  return sha256(readFileSync(path))
}

describe.skipIf(!onLinuxX64)('the Linux x86_64 single executable', () => {
  it('answers --version, version and update --check from its built-in broker and key', async () => {
    const h = hostWith(outB, B)
    const cco = (args: string[]) => runCco(h.installPath, args, { home: h.home })

    const v = await cco(['--version'])
    expect(v.code, show(v)).toBe(0)
    expect(v.stdout).toBe(`cco ${B}\n`)

    const version = await cco(['version'])
    expect(version.code, show(version)).toBe(0)
    expect(version.stdout.split('\n')).toEqual([
      `CCO version ${B}`,
      'Channel: stable',
      `Server: ${broker.url}`,
      'Platform: linux-x86_64',
      'Build: release',
      `Install path: ${h.installPath}`,
      '',
    ])

    const config = await cco(['config', 'show'])
    expect(config.stdout).toContain(`  Pinned keys: ${broker.secrets.publicKey.kid} (built-in)`)

    // No release yet: the signed manifest says so, verified against the built-in key.
    const check = await cco(['update', '--check'])
    expect(check.code, show(check)).toBe(0)
    expect(check.stdout).toBe(
      ['→ Checking for updates...', `→ Current version: ${B}`, '→ Latest version: none (channel stable has no release yet)', '✅ You are running the latest version', ''].join('\n'),
    )
  })

  it('updates itself A → B from a release the broker verified against our checksums.txt', { timeout: 120_000 }, async () => {
    // GitHub's side: every archive and checksums.txt as release assets, without GitHub's own
    // digests, so the broker takes them from checksums.txt.
    const base = `/cco-dev/cco/releases/download/v${B}`
    const names = [...archives(B), 'checksums.txt']
    for (const name of ['checksums.txt', canonicalAssetName(B, 'linux-x86_64')]) downloads.file(`${base}/${name}`, readFileSync(join(outB, name)))
    const payload = releasePayload({
      action: 'published',
      tag: `v${B}`,
      body: 'Single-executable release.',
      assets: names.map((name) => ({ name, url: `${downloads.url}${base}/${name}`, size: readFileSync(join(outB, name)).length })),
    })
    const hook = await broker.sendWebhook('release', payload)
    // 202: accepted, with the checksums file still to fetch.
    expect([200, 202], broker.output()).toContain(hook.status)
    // The checksums file is fetched off the webhook's path (the Durable Object's alarm).
    let status = ''
    for (let i = 0; i < 100 && status !== 'live'; i++) {
      const res = await fetch(`${broker.url}/v1/releases/${B}`)
      status = res.ok ? ((await res.json()) as { status: string }).status : `HTTP ${res.status}`
      if (status !== 'live') await new Promise((r) => setTimeout(r, 200))
    }
    expect(status, broker.output()).toBe('live')
    const recorded = (await (await fetch(`${broker.url}/v1/releases/${B}`)).json()) as { assets: Record<string, { sha256: string }> }
    const line = readFileSync(join(outB, 'checksums.txt'), 'utf8').split('\n').find((l) => l.endsWith(canonicalAssetName(B, 'linux-x86_64')))!
    expect(recorded.assets['linux-x86_64']?.sha256).toBe(line.slice(0, 64))

    const h = hostWith(outA, A)
    const cco = (args: string[], env?: Record<string, string>) => runCco(h.installPath, args, { home: h.home, env, timeoutMs: 90_000 })
    expect((await cco(['--version'])).stdout).toBe(`cco ${A}\n`)
    const shaA = sha256File(h.installPath)

    // The release engineer's side, with the same binary: B goes to stable.
    const promote = await cco(['release', 'promote', B], { CCO_ADMIN_TOKEN: broker.adminToken })
    expect(promote.code, show(promote)).toBe(0)
    expect(promote.stdout).toContain(`✅ Promoted ${B} to stable at 100%`)

    const check = await cco(['update', '--check'])
    expect(check.stdout, show(check)).toContain(`ℹ️  New version available: ${B}`)

    const update = await cco(['update', '--yes'])
    expect(update.code, show(update)).toBe(0)
    expect(update.stdout).toContain('Single-executable release.')
    expect(update.stdout).toContain(`✅ Successfully updated to ${B}`)
    expect((await cco(['--version'])).stdout).toBe(`cco ${B}\n`)
    // The running single executable itself was replaced; the previous one is kept.
    expect(sha256File(h.backupPath)).toBe(shaA)
    const fd = openSync(h.installPath, 'r')
    const head = Buffer.alloc(4)
    readSync(fd, head, 0, 4, 0)
    closeSync(fd)
    expect(head.toString('latin1')).toBe('\x7fELF')
    expect(downloads.requests.some((q) => q.path === `${base}/${canonicalAssetName(B, 'linux-x86_64')}`)).toBe(true)

    const latest = await cco(['update', '--check'])
    expect(latest.stdout, show(latest)).toContain('✅ You are running the latest version')
  })
})
