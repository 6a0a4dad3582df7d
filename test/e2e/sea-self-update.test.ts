// A real single executable updates itself A → B on the machine it runs on, through the
// install protocol's variant for that platform: built here with postject around the client
// bundle (ad-hoc signed with `codesign --sign -` on macOS, as Node's documentation requires
// after an injection), installed as `cco` (`cco.exe` on Windows), pointed at a local stand-in
// broker that serves a signed manifest and the archive. This is what the hosted runners of
// .github/workflows/cross-platform.yml run on windows-latest and macos-latest; on Linux it runs
// the posix variant. Afterwards the install path runs B and the backup runs A; on macOS both
// still pass `codesign --verify --strict` and carry no quarantine attribute; on Windows the
// running A was renamed away, not written (no refusal from the OS, which is what this proves).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { binaryName, canonicalAssetName } from '../../contract/platform.ts'
import { hostPlatform, injectBlob, makeBlob } from '../../scripts/lib/sea.ts'
import { releaseTarGz, zip } from '../../support/archives.ts'
import { collect, type CcoRun } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, sha256, signManifest } from '../../support/signed-manifest.ts'

const A = '2026.1.1'
const B = '2026.1.2'
const platform = hostPlatform()
const exe = process.platform === 'win32' ? '.exe' : ''

let work: string
let server: ReleaseServer
let publicKey: { kid: string; x: string }
const binaries: Record<string, string> = {}

beforeAll(async () => {
  if (!platform) return
  work = mkdtempSync(join(tmpdir(), 'cco-sea-update-'))
  for (const v of [A, B]) {
    const blob = join(work, `${v}.blob`)
    // As the release build does: the SEA runs the bundle as a CommonJS script, without its shebang.
    const main = join(work, `${v}.cjs`)
    writeFileSync(main, readFileSync(await clientBundle({ version: v }), 'utf8').replace(/^#![^\n]*\n/, ''))
    await makeBlob(main, blob, { codeCache: false, version: v })
    const target = join(work, v, `cco${exe}`)
    await injectBlob(process.execPath, blob, target, platform)
    // postject leaves Node's own signature invalid; macOS on arm64 refuses to start such a binary.
    // What release.yml's sign-macos job does to the archives built on Linux.
    if (process.platform === 'darwin') {
      spawnSync('codesign', ['--remove-signature', target])
      execFileSync('codesign', ['--force', '--sign', '-', target])
    }
    binaries[v] = target
  }
  server = await startReleaseServer()
  const signer = await createSigner('test-key-1')
  publicKey = signer.publicKey
  const body = readFileSync(binaries[B]!)
  const archive = exe ? await zip([{ name: binaryName(platform), body }]) : releaseTarGz(body, binaryName(platform))
  const name = canonicalAssetName(B, platform)
  server.file(`/download/${name}`, archive)
  const payload = manifestPayload({ version: B, assets: { [platform]: { name, url: `${server.url}/download/${name}`, size: archive.length, sha256: sha256(archive) } } })
  server.manifest('stable', await signManifest(payload, [signer]))
}, 600_000)

afterAll(async () => {
  await server?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe.skipIf(!platform)('a single executable on this platform', () => {
  it('updates itself A -> B and keeps A as the backup', async () => {
    const home = join(work, 'home')
    const binDir = join(home, '.local', 'bin')
    mkdirSync(binDir, { recursive: true })
    mkdirSync(join(home, '.config', 'cco'), { recursive: true })
    writeFileSync(
      join(home, '.config', 'cco', 'config.toml'),
      ['[updates]', `server = ${JSON.stringify(server.url)}`, '', '[[trust.keys]]', `kid = ${JSON.stringify(publicKey.kid)}`, `x = ${JSON.stringify(publicKey.x)}`, ''].join('\n'),
    )
    const installPath = join(binDir, `cco${exe}`)
    const backupPath = join(binDir, `cco.backup${exe}`)
    copyFileSync(binaries[A]!, installPath)
    // The runner's environment (Windows needs SystemRoot and the like), with this HOME only.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, USERPROFILE: home, NO_COLOR: '1' }
    for (const k of Object.keys(env)) if (k.startsWith('XDG_') || k.startsWith('CCO_')) delete env[k]
    // Not spawnSync: the stand-in broker answers from this process's event loop.
    const run = (bin: string, args: string[]): Promise<CcoRun> => collect(spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }), { timeoutMs: 120_000 })
    const show = (r: CcoRun) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`

    expect((await run(installPath, ['--version'])).stdout.trim()).toBe(`cco ${A}`)
    const updated = await run(installPath, ['update', '--yes'])
    expect(updated.code, show(updated)).toBe(0)
    expect((await run(installPath, ['--version'])).stdout.trim()).toBe(`cco ${B}`)
    expect((await run(backupPath, ['--version'])).stdout.trim()).toBe(`cco ${A}`)
    // The next start settles nothing and leaves nothing: no journal, no temp dir, no trash
    // (A is no longer running).
    expect((await run(installPath, ['version'])).code).toBe(0)
    expect(existsSync(join(home, '.local', 'state', 'cco', 'install-journal.json'))).toBe(false)
    expect(readdirSync(binDir).sort()).toEqual([`cco${exe}`, `cco.backup${exe}`].sort())

    if (process.platform === 'darwin') {
      for (const f of [installPath, backupPath]) {
        execFileSync('codesign', ['--verify', '--strict', f])
        expect(spawnSync('xattr', ['-p', 'com.apple.quarantine', f]).status, `${f} is quarantined`).not.toBe(0)
      }
    }
  })
})
