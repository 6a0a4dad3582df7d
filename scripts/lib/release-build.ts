// The release build: bundle the client once, then per platform a Node single executable
// packed as `cco-<version>-<platform>.tar.gz` (`.zip` on Windows) with the binary at the root,
// the binary's differential assets beside it (`.blockmap.json` and `.chunks`, contract/README.md
// "Block maps and chunk packs"), and `checksums.txt` over all of them.
import { availableParallelism, tmpdir } from 'node:os'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { PublicKey } from '../../contract/manifest.ts'
import { binaryName, canonicalAssetName, PLATFORMS, type Platform } from '../../contract/platform.ts'
import { isVersion } from '../../contract/version.ts'
import { deltaAssetNames } from '../../contract/blockmap.ts'
import { writeDeltaAssets } from './blockmap-build.ts'
import { bundleClient } from './bundle-client.ts'
import { packTarGz, packZip, previousOutputs, writeChecksums } from './release-archives.ts'
import { assertBuildNode, hostPlatform, injectBlob, makeBlob, nodeBinaryFor, run, type NodeBinary } from './sea.ts'

export interface ReleaseBuildOptions {
  version: string
  platforms?: readonly Platform[]
  /** Default `release/<version>/` in the repository. */
  outDir?: string
  /** The broker built in as the default `updates.server`. */
  server?: string
  /** Manifest keys built in (trusted besides `[[trust.keys]]`). */
  trustKeys?: PublicKey[]
  /** A package-managed build: the command that upgrades it (bundle-client.ts). */
  managedBy?: string
  /** Where other platforms' Node binaries are kept between builds. */
  cacheDir: string
  /** Parallel injections (each reads and writes a ~120 MB binary); default: CPU count, at most 3. */
  concurrency?: number
  /** Archive entry times; default now. */
  mtime?: Date
  /**
   * JavaScript appended to the bundle (bundle-client.ts `extraCode`): tests and the bench build
   * two versions whose code differs, as two real releases would. Not a command-line flag.
   */
  extraCode?: string
  log?: (line: string) => void
}

export interface PlatformArtifact {
  platform: Platform
  archive: string
  archiveBytes: number
  binaryBytes: number
  /** The differential assets beside the archive: paths, sizes, how many chunks. */
  blockmap: string
  blockmapBytes: number
  pack: string
  packBytes: number
  chunks: number
  codeCache: boolean
  nodeSource: NodeBinary['source']
  /** Copy + injection (+ self-test), packing the archive, and writing the block map and chunk pack (at the same time as packing), in seconds. */
  injectSeconds: number
  packSeconds: number
  deltaSeconds: number
  /** The host binary's `--version` answer, when it could be run here. */
  selfTest: string | null
}

export interface ReleaseBuildResult {
  version: string
  outDir: string
  checksums: string
  artifacts: PlatformArtifact[]
  seconds: { total: number; bundle: number; nodeBinaries: number; blobs: number; platforms: number }
}

const ROOT = resolve(import.meta.dirname, '../..')
const since = (t: number) => (performance.now() - t) / 1000

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order of results. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

export async function buildRelease(options: ReleaseBuildOptions): Promise<ReleaseBuildResult> {
  const started = performance.now()
  const log = options.log ?? (() => {})
  const { version } = options
  if (!isVersion(version) || version.startsWith('v')) throw new Error(`not a version: ${JSON.stringify(version)} (e.g. 2026.11.26, without the tag's "v")`)
  const platforms = [...new Set(options.platforms ?? PLATFORMS)]
  if (platforms.length === 0) throw new Error('no platforms to build')
  assertBuildNode()
  const host = hostPlatform()
  const outDir = resolve(options.outDir ?? join(ROOT, 'release', version))
  mkdirSync(outDir, { recursive: true })
  for (const stale of previousOutputs(outDir, version)) rmSync(join(outDir, stale), { force: true })
  const work = mkdtempSync(join(tmpdir(), `cco-release-${version}-`))
  const mtime = options.mtime ?? new Date()

  try {
    // Node binaries first: a missing registry fails the build before any slow step.
    let t = performance.now()
    const nodes = new Map<Platform, NodeBinary>()
    for (const p of platforms) {
      const node = await nodeBinaryFor(p, options.cacheDir)
      nodes.set(p, node)
      log(`node ${p}: ${node.source === 'host' ? `host ${process.execPath}` : node.source === 'cache' ? `cached ${node.path}` : `fetched into ${node.path}`}`)
    }
    const nodeSeconds = since(t)

    t = performance.now()
    const bundle = await bundleClient({
      version,
      outfile: join(work, 'cco.cjs'),
      build: 'release',
      defaultServer: options.server,
      trustKeys: options.trustKeys,
      managedBy: options.managedBy,
      extraCode: options.extraCode,
      // Minified: a smaller script parses faster, which matters most where there is no code cache.
      minify: true,
    })
    // The SEA runs the bundle as a CommonJS script: the shebang line is only for `node cco.cjs`.
    const main = join(work, 'main.cjs')
    writeFileSync(main, readFileSync(bundle.outfile, 'utf8').replace(/^#![^\n]*\n/, ''))
    const bundleSeconds = since(t)
    log(`bundle: ${(bundle.bytes / 1024).toFixed(0)} KiB in ${bundleSeconds.toFixed(1)} s`)

    t = performance.now()
    const blobs = { cached: join(work, 'sea-host.blob'), portable: join(work, 'sea-portable.blob') }
    const needsHostBlob = host !== null && platforms.includes(host)
    const needsPortableBlob = platforms.some((p) => p !== host)
    if (needsHostBlob) await makeBlob(main, blobs.cached, { codeCache: true, version })
    if (needsPortableBlob) await makeBlob(main, blobs.portable, { codeCache: false, version })
    const blobSeconds = since(t)

    t = performance.now()
    const limit = options.concurrency ?? Math.max(1, Math.min(3, availableParallelism()))
    const artifacts = await mapLimited(platforms, limit, async (platform): Promise<PlatformArtifact> => {
      const started = performance.now()
      const name = binaryName(platform)
      const binary = join(work, platform, name)
      const codeCache = platform === host
      const { warnings } = await injectBlob(nodes.get(platform)!.path, codeCache ? blobs.cached : blobs.portable, binary, platform)
      for (const w of warnings) log(`${platform}: postject: ${w}`)
      const injectSeconds = since(started)
      let selfTest: string | null = null
      if (platform === host) {
        const r = await run(binary, ['--version'], { timeoutMs: 30_000, env: { PATH: process.env.PATH ?? '', HOME: work } })
        selfTest = r.stdout.trim()
        if (r.code !== 0 || selfTest !== `cco ${version}`) {
          throw new Error(`the built ${platform} binary failed its self-test: --version said ${JSON.stringify(selfTest)} (exit ${r.code})\n${r.stderr}`)
        }
      }
      const archiveName = canonicalAssetName(version, platform)
      const archive = join(outDir, archiveName)
      // The archive and the differential assets are made from the same binary at the same time:
      // gzip runs on this thread, the chunks' deflate on the thread pool. (The macOS re-signing
      // in the release workflow changes the binary, and makes its delta assets again.)
      const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
        const t = performance.now()
        return [await fn(), since(t)]
      }
      const [[, packSeconds], [delta, deltaSeconds]] = await Promise.all([
        timed(() => (archive.endsWith('.zip') ? packZip(binary, name, archive, mtime) : packTarGz(binary, name, archive, mtime))),
        timed(() => writeDeltaAssets({ binary, archiveName, outDir, version, platform })),
      ])
      const artifact: PlatformArtifact = {
        platform,
        archive,
        archiveBytes: statSync(archive).size,
        binaryBytes: statSync(binary).size,
        blockmap: delta.blockmap,
        blockmapBytes: statSync(delta.blockmap).size,
        pack: delta.pack,
        packBytes: delta.map.pack.size,
        chunks: delta.map.chunks.length,
        codeCache,
        nodeSource: nodes.get(platform)!.source,
        injectSeconds,
        packSeconds,
        deltaSeconds,
        selfTest,
      }
      rmSync(join(work, platform), { recursive: true, force: true })
      log(
        `${platform}: ${mib(artifact.binaryBytes)} binary, ${mib(artifact.archiveBytes)} archive, inject ${artifact.injectSeconds.toFixed(1)} s, pack ${packSeconds.toFixed(1)} s, ` +
          `${artifact.chunks} chunks: ${mib(artifact.packBytes)} pack and ${(artifact.blockmapBytes / 1024).toFixed(0)} KiB block map in ${artifact.deltaSeconds.toFixed(1)} s${selfTest ? ` (self-test: ${selfTest})` : ''}`,
      )
      return artifact
    })
    const platformSeconds = since(t)

    const checksums = await writeChecksums(
      outDir,
      artifacts.flatMap((a) => {
        const name = canonicalAssetName(version, a.platform)
        const delta = deltaAssetNames(name)!
        return [name, delta.blockmap, delta.pack]
      }),
    )
    return {
      version,
      outDir,
      checksums,
      artifacts,
      seconds: { total: since(started), bundle: bundleSeconds, nodeBinaries: nodeSeconds, blobs: blobSeconds, platforms: platformSeconds },
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

export const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`
