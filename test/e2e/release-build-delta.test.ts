// The release build's differential assets on small files (the real 121 MiB binaries are in
// release-build.test.ts): the block map describes the file exactly, the pack holds each
// distinct chunk once and rebuilds the file, the pack and the map are the same bytes however
// many chunks are compressed at once, and a new build replaces an old one's delta files; the
// release workflow makes the macOS ones again after re-signing changed those binaries.
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BlockMapSchema, CHUNK_MAX, deltaAssetNames } from '../../contract/blockmap.ts'
import { canonicalAssetName, PLATFORMS, type Platform } from '../../contract/platform.ts'
import { writeDeltaAssets } from '../../scripts/lib/blockmap-build.ts'
import { previousOutputs } from '../../scripts/lib/release-archives.ts'
import { REPO_ROOT } from '../../support/cco-process.ts'
import { rebuildFromPack } from '../support/chunk-pack.ts'
import { findStep, loadWorkflow, runStep } from '../support/release-workflows.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let work: string
let binary: string
let bytes: Buffer

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'cco-delta-assets-'))
  // Parts that compress very differently (random, zeros, text), so that compressions finish
  // out of order, and one random part twice, so that chunks repeat.
  const random = randomBytes(1536 * 1024)
  const text = Buffer.from('function update(){return "cco";}\n'.repeat(40_000))
  bytes = Buffer.concat([random, Buffer.alloc(CHUNK_MAX * 3), text, randomBytes(700 * 1024), random, randomBytes(12_345)])
  binary = join(work, 'cco')
  writeFileSync(binary, bytes)
})

afterAll(() => rmSync(work, { recursive: true, force: true }))

const build = (outDir: string, inFlight?: number) =>
  writeDeltaAssets({ binary, archiveName: 'cco-2026.12.1-linux-x86_64.tar.gz', outDir, version: '2026.12.1', platform: 'linux-x86_64', inFlight })

describe('writeDeltaAssets', () => {
  it('writes a block map of the file and a pack that rebuilds it, each distinct chunk stored once', async () => {
    const out = mkdtempSync(join(work, 'one-'))
    const r = await build(out)
    expect(readdirSync(out).sort()).toEqual(['cco-2026.12.1-linux-x86_64.blockmap.json', 'cco-2026.12.1-linux-x86_64.chunks'])
    const map = BlockMapSchema.parse(JSON.parse(readFileSync(r.blockmap, 'utf8')))
    expect(map.binary).toEqual({ size: bytes.length, sha256: sha256(bytes) })
    const pack = readFileSync(r.pack)
    expect(map.pack).toEqual({ name: 'cco-2026.12.1-linux-x86_64.chunks', size: pack.length, sha256: sha256(pack), compression: 'deflate-raw' })
    expect(rebuildFromPack(map, pack).equals(bytes)).toBe(true)

    // The repeated part's chunks point at the same place in the pack, and the pack is exactly
    // the distinct chunks laid end to end in order of first appearance.
    const places = new Map<string, string>()
    for (const [, , hash, at, length] of map.chunks) {
      const place = `${at}+${length}`
      expect(places.get(hash) ?? place).toBe(place)
      places.set(hash, place)
    }
    expect(places.size).toBeLessThan(map.chunks.length)
    let next = 0
    for (const place of places.values()) {
      const [at, length] = place.split('+').map(Number)
      expect(at).toBe(next)
      next = at! + length!
    }
    expect(next).toBe(pack.length)
  })

  it('writes the same pack and block map whether chunks are compressed one at a time or many at once', async () => {
    const outs = [1, 3, 16].map((n) => [n, mkdtempSync(join(work, `in-flight-${n}-`))] as const)
    const results = []
    for (const [n, out] of outs) results.push(await build(out, n))
    const [first, ...rest] = results.map((r) => ({ pack: readFileSync(r.pack), map: readFileSync(r.blockmap, 'utf8') }))
    for (const r of rest) {
      expect(r.pack.equals(first!.pack)).toBe(true)
      expect(r.map).toBe(first!.map)
    }
  })

  it('refuses a name that is not an archive', async () => {
    await expect(writeDeltaAssets({ binary, archiveName: 'cco', outDir: work, version: '2026.12.1', platform: 'linux-x86_64' })).rejects.toThrow('is not an archive name')
  })
})

describe('previousOutputs', () => {
  it("lists a version's archives, block maps, chunk packs and checksums.txt, and nothing of other versions", () => {
    const dir = mkdtempSync(join(work, 'previous-'))
    const mine = [
      'checksums.txt',
      'cco-2026.12.1-linux-x86_64.tar.gz',
      'cco-2026.12.1-linux-x86_64.blockmap.json',
      'cco-2026.12.1-linux-x86_64.chunks',
      'cco-2026.12.1-windows-x86_64.zip',
      'cco-2026.12.1-windows-x86_64.blockmap.json',
      'cco-2026.12.1-windows-x86_64.chunks',
    ]
    const others = ['cco-2026.12.2-linux-x86_64.chunks', 'cco-2026.12.2-linux-x86_64.blockmap.json', 'notes.md', 'cco-2026.12.1-linux-x86_64.sig']
    for (const n of [...mine, ...others]) writeFileSync(join(dir, n), n)
    expect(previousOutputs(dir, '2026.12.1').sort()).toEqual(mine.sort())
  })
})

describe('release.yml after re-signing the macOS binaries', () => {
  const w = loadWorkflow('release.yml')
  const step = findStep(w, 'sign-macos', 'Make the macOS block maps and chunk packs again, and checksums.txt')
  const VERSION = '2026.12.1'

  it('runs after the re-signing, in a job with the checkout and its dependencies, before the upload', () => {
    const steps = w.jobs['sign-macos']!.steps
    const at = (p: (s: (typeof steps)[number]) => boolean) => steps.findIndex(p)
    const order = [
      at((s) => s.uses?.startsWith('actions/checkout@') ?? false),
      at((s) => s.run?.includes('npm ci') ?? false),
      at((s) => s.name === 'Re-sign, smoke-test and re-pack'),
      at((s) => s === step),
      at((s) => s.uses?.startsWith('actions/upload-artifact@') ?? false),
    ]
    expect(order.every((i) => i >= 0)).toBe(true)
    expect(order).toEqual([...order].sort((a, b) => a - b))
    expect(step.env).toEqual({ VERSION: '${{ needs.build.outputs.version }}' })
    // The publish job uploads every file of the directory.
    expect(findStep(w, 'publish', 'Create the release').run).toContain('release/*')
  })

  it('makes the macOS block maps describe the signed binaries, keeps the others, and writes checksums.txt over all of them', async () => {
    const ws = mkdtempSync(join(work, 'workspace-'))
    const release = join(ws, 'release')
    mkdirSync(release)
    const signed = new Map<Platform, Buffer>()
    const kept = new Map<Platform, string>()
    for (const platform of PLATFORMS) {
      const name = canonicalAssetName(VERSION, platform)
      const dir = mkdtempSync(join(work, `bin-${platform}-`))
      const unsigned = Buffer.concat([Buffer.from(`#!/bin/sh\necho "cco ${VERSION}"\nexit 0\n`), randomBytes(400 * 1024)])
      const binaryName = platform.startsWith('windows-') ? 'cco.exe' : 'cco'
      writeFileSync(join(dir, binaryName), unsigned, { mode: 0o755 })
      // The build's delta assets, of the binary before signing.
      await writeDeltaAssets({ binary: join(dir, binaryName), archiveName: name, outDir: release, version: VERSION, platform })
      let inArchive = unsigned
      if (platform.startsWith('darwin-')) {
        // What codesign does, as far as the block map can tell: other bytes, here at the end.
        inArchive = Buffer.concat([unsigned, randomBytes(20_000)])
        signed.set(platform, inArchive)
        writeFileSync(join(dir, binaryName), inArchive)
      } else {
        kept.set(platform, readFileSync(join(release, deltaAssetNames(name)!.blockmap), 'utf8'))
      }
      if (name.endsWith('.zip')) writeFileSync(join(release, name), 'a zip')
      else expect(spawnSync('tar', ['-czf', join(release, name), '-C', dir, binaryName]).status).toBe(0)
    }

    const r = await runStep(step, { VERSION, GITHUB_WORKSPACE: REPO_ROOT }, { cwd: ws })
    expect(r.code, r.stdout + r.stderr).toBe(0)

    for (const [platform, binary] of signed) {
      const names = deltaAssetNames(canonicalAssetName(VERSION, platform))!
      const map = BlockMapSchema.parse(JSON.parse(readFileSync(join(release, names.blockmap), 'utf8')))
      expect(map).toMatchObject({ version: VERSION, platform, binary: { size: binary.length, sha256: sha256(binary) } })
      expect(rebuildFromPack(map, readFileSync(join(release, names.pack))).equals(binary)).toBe(true)
    }
    for (const [platform, map] of kept) expect(readFileSync(join(release, deltaAssetNames(canonicalAssetName(VERSION, platform))!.blockmap), 'utf8')).toBe(map)

    const listed = readFileSync(join(release, 'checksums.txt'), 'utf8').trim().split('\n').map((l) => l.slice(66))
    expect(listed).toEqual(readdirSync(release).filter((n) => n !== 'checksums.txt').sort())
    expect(listed).toHaveLength(PLATFORMS.length * 3)
    const check = spawnSync('sha256sum', ['-c', 'checksums.txt'], { cwd: release, encoding: 'utf8' })
    expect(check.status, check.stdout + check.stderr).toBe(0)
  })
})

describe('scripts/write-delta-assets.ts', () => {
  it('refuses an archive name that is not a release archive', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/write-delta-assets.ts'), '--archive', join(work, 'cco-latest-linux-x86_64.tar.gz'), '--binary', binary], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('not a release archive name: "cco-latest-linux-x86_64.tar.gz"')
    expect(readdirSync(work).some((n) => n.endsWith('.blockmap.json'))).toBe(false)
  })
})

