// Measures one `cco update --yes` of a 40 MiB release archive from a loopback server, next to
// the shell equivalent on the same file: curl -o, sha256sum -c, tar xzf, mv.
// Run: node scripts/bench-update.ts [--mib 40] [--runs 3]   (through npx, for Node 22)
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { canonicalAssetName } from '../contract/platform.ts'
import { currentPlatform } from '../client/src/context.ts'
import { releaseTarGz } from '../test/support/archives.ts'
import { makeHome } from '../test/support/cco-home.ts'
import { childEnv } from '../test/support/cco-process.ts'
import { clientBundle } from '../test/support/client-bundles.ts'
import { startReleaseServer } from '../test/support/release-server.ts'
import { createSigner, manifestPayload, sha256, signManifest } from '../test/support/signed-manifest.ts'

const { values } = parseArgs({ options: { mib: { type: 'string', default: '40' }, runs: { type: 'string', default: '3' } } })
const mib = Number(values.mib)
const runs = Number(values.runs)
const A = '2026.9.1'
const B = '2026.9.2'
const platform = currentPlatform()!

// The "binary": a tiny script that answers --version, padded with incompressible bytes so the
// archive is really `mib` MiB (the shell stops reading at `exit`).
const binary = Buffer.concat([Buffer.from(`#!/bin/sh\necho "cco ${B}"\nexit 0\n`), randomBytes(mib * 1024 * 1024)])
const archive = releaseTarGz(binary)
const name = canonicalAssetName(B, platform)
const server = await startReleaseServer()
server.file(`/download/${name}`, archive)
const signer = await createSigner('bench')
const url = `${server.url}/download/${name}`
server.manifest(
  'stable',
  await signManifest(manifestPayload({ version: B, assets: { [platform]: { name, url, size: archive.length, sha256: sha256(archive) } } }), [signer]),
)
const bundleA = await clientBundle({ version: A })

// Asynchronous on purpose: the loopback server runs in this process.
const run = promisify(execFile)
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - t) / 1e6
}

const cco: number[] = []
const shell: number[] = []
for (let i = 0; i < runs; i++) {
  const h = makeHome('cco-bench-')
  h.writeConfig({ server: server.url, keys: [signer.publicKey] })
  h.install(bundleA)
  cco.push(await time(() => run(h.installPath, ['update', '--yes'], { env: childEnv(h.home) })))
  if (!readFileSync(h.installPath).equals(binary)) throw new Error('cco update did not install the archive')
  h.cleanup()

  const dir = mkdtempSync(join(tmpdir(), 'cco-bench-shell-'))
  const script = [
    'set -e',
    `cd "${dir}"`,
    `curl -sS -o "${name}" "${url}"`,
    `echo "${sha256(archive)}  ${name}" | sha256sum -c --quiet`,
    `tar xzf "${name}" cco`,
    'mkdir -p bin && mv cco bin/cco',
  ].join('\n')
  shell.push(await time(() => run('bash', ['-c', script])))
  rmSync(dir, { recursive: true, force: true })
}
await server.close()

const fmt = (xs: number[]) => `median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0)} ms (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`
console.log(`archive: ${(archive.length / 1048576).toFixed(1)} MiB from ${server.url}`)
console.log(`cco update --yes:                          ${fmt(cco)}`)
console.log(`curl + sha256sum -c + tar xzf + mv:        ${fmt(shell)}`)
