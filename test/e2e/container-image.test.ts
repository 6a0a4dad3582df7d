// The container image (packaging/container/Dockerfile) built with buildah from a real Linux
// release build, then looked at and run as a person would: the user is not root, the entry
// point is `cco run`, the image's config turns updates off and a mounted config.toml replaces
// it, the binary is the release's own and answers `--version`, and the entry point's daemon
// passes the image's own health check.
//
// No registry is reachable from the test machines, so the Dockerfile's base image (distroless
// "cc": glibc, libstdc++, libgcc_s, the user nonroot 65532) is stood in for by an image made
// here from exactly the libraries `ldd` lists for the binary, under the same name, and the
// build runs with --pull-never. Needs Debian's `buildah` (apt-get install -y buildah) and root
// (chroot isolation, vfs storage in a private directory); skipped with a message otherwise.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chownSync, copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentPlatform } from '../../client/src/context.ts'
import { canonicalAssetName } from '../../contract/platform.ts'
import { REPO_ROOT } from '../../support/cco-process.ts'
import { freePort } from '../../support/ports.ts'

const VERSION = '2026.12.1'
const CONTEXT_DIR = join(REPO_ROOT, 'packaging/container')

function missing(): string | null {
  if (currentPlatform() !== 'linux-x86_64') return 'the image holds the linux-x86_64 release binary; this machine cannot run it'
  if (process.getuid?.() !== 0) return 'buildah with chroot isolation needs root here'
  const v = spawnSync('buildah', ['--version'], { encoding: 'utf8' })
  if (v.error || v.status !== 0) return 'buildah is not installed (Debian: apt-get install -y buildah)'
  return null
}
const skip = missing()
if (skip) process.stderr.write(`container-image.test.ts skipped: ${skip}\n`)

let work: string
let binary: Buffer
let buildLog = ''

function buildah(args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync('buildah', ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs', ...args], {
    encoding: 'utf8',
    input,
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  })
}

function ok(what: string, r: SpawnSyncReturns<string>): string {
  if (r.error || r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** `cco ARGS` in a fresh container of the image, as the image's user, with `buildah run` options first. */
function inImage(args: string[], options: string[] = []): SpawnSyncReturns<string> {
  const ctr = ok('buildah from', buildah(['from', '--pull-never', `cco:${VERSION}`])).trim()
  try {
    return buildah(['run', '--isolation', 'chroot', ...options, ctr, '--', '/usr/local/bin/cco', ...args])
  } finally {
    buildah(['rm', ctr])
  }
}

function runChild(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
  })
}

/**
 * The stand-in for the Dockerfile's base image: the binary's shared libraries as `ldd` lists
 * them, the users root and nonroot (65532) with nonroot's home, and /tmp.
 */
function makeBaseImage(name: string, bin: string): void {
  const root = join(work, 'base-rootfs')
  for (const d of ['etc', 'tmp', 'home/nonroot']) mkdirSync(join(root, d), { recursive: true })
  const libs = ok('ldd', spawnSync('ldd', [bin], { encoding: 'utf8' })).match(/\/\S+/g) ?? []
  expect(libs.length).toBeGreaterThan(0)
  for (const lib of libs) {
    mkdirSync(join(root, dirname(lib)), { recursive: true })
    copyFileSync(lib, join(root, lib))
  }
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n')
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnonroot:x:65532:\n')
  const ctr = ok('buildah from scratch', buildah(['from', 'scratch'])).trim()
  ok('buildah copy', buildah(['copy', ctr, `${root}/`, '/']))
  // `buildah copy` makes everything root's, as COPY does: set the owners and modes in place.
  const mnt = ok('buildah mount', buildah(['mount', ctr])).trim()
  chmodSync(join(mnt, 'tmp'), 0o1777)
  chownSync(join(mnt, 'home/nonroot'), 65532, 65532)
  buildah(['umount', ctr])
  ok('buildah commit', buildah(['commit', '--quiet', ctr, name]))
  buildah(['rm', ctr])
}

interface ImageConfig {
  User: string
  Env: string[]
  Entrypoint: string[]
  Cmd: string[] | null
  WorkingDir: string
  Labels: Record<string, string>
  Healthcheck?: { Test: string[] }
}

let config: ImageConfig

beforeAll(async () => {
  if (skip) return
  work = mkdtempSync(join(tmpdir(), 'cco-container-'))
  const out = join(work, 'release')
  // What `npm run build:release --` runs after its Node version guard.
  const built = await runChild(process.execPath, [join(REPO_ROOT, 'scripts/build-release.ts'), '--version', VERSION, '--platforms', 'linux-x86_64', '--out', out])
  if (built.code !== 0) throw new Error(`build:release failed (exit ${built.code}):\n${built.out}`)
  const archive = canonicalAssetName(VERSION, 'linux-x86_64')
  const extracted = join(work, 'extracted')
  mkdirSync(extracted)
  ok('tar', spawnSync('tar', ['-xzf', join(out, archive), '-C', extracted], { encoding: 'utf8' }))
  binary = readFileSync(join(extracted, 'cco'))

  // The build context as the README says: this directory's files plus the archive.
  const context = join(work, 'context')
  mkdirSync(context)
  for (const f of ['Dockerfile', 'config.toml']) copyFileSync(join(CONTEXT_DIR, f), join(context, f))
  copyFileSync(join(out, archive), join(context, archive))

  const from = /^FROM\s+(\S+)/m.exec(readFileSync(join(CONTEXT_DIR, 'Dockerfile'), 'utf8'))?.[1]
  if (!from) throw new Error('no FROM line in packaging/container/Dockerfile')
  makeBaseImage(from, join(extracted, 'cco'))

  const bud = buildah(['bud', '--isolation', 'chroot', '--pull-never', '--layers=false', '--format', 'docker', '--build-arg', `VERSION=${VERSION}`, '-t', `cco:${VERSION}`, context])
  buildLog = bud.stdout + bud.stderr
  ok('buildah bud', bud)
  const inspected = JSON.parse(ok('buildah inspect', buildah(['inspect', '--type', 'image', `cco:${VERSION}`]))) as { Docker: { config: ImageConfig } }
  config = inspected.Docker.config
}, 300_000)

afterAll(() => {
  if (skip || !work) return
  buildah(['rm', '--all'])
  buildah(['rmi', '--all', '--force'])
  rmSync(work, { recursive: true, force: true })
}, 60_000)

describe.skipIf(skip !== null)('the container image', () => {
  it('builds from the Dockerfile and a real release archive', () => {
    expect(buildLog).toContain(`Successfully tagged localhost/cco:${VERSION}`)
    expect(config.Labels['org.opencontainers.image.version']).toBe(VERSION)
  })

  it('runs as a user that is not root, with `cco run` as its entry point and `cco health` as its health check', () => {
    expect(config.User).toBe('65532:65532')
    expect(config.Entrypoint).toEqual(['/usr/local/bin/cco', 'run'])
    expect(config.Cmd ?? []).toEqual([])
    expect(config.Healthcheck?.Test).toEqual(['CMD', '/usr/local/bin/cco', 'health'])
    expect(config.Env).toContain('XDG_CONFIG_HOME=/etc')
    expect(config.Env).toContain('HOME=/home/nonroot')
  })

  it('holds the release binary unchanged, owned by root, which answers --version inside the image', () => {
    const ctr = ok('buildah from', buildah(['from', '--pull-never', `cco:${VERSION}`])).trim()
    try {
      const mnt = ok('buildah mount', buildah(['mount', ctr])).trim()
      const inImageBin = join(mnt, 'usr/local/bin/cco')
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
      expect(sha(readFileSync(inImageBin))).toBe(sha(binary))
      const st = statSync(inImageBin)
      expect({ uid: st.uid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: 0, mode: '755' })
      buildah(['umount', ctr])
    } finally {
      buildah(['rm', ctr])
    }
    const r = inImage(['--version'])
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toBe(`cco ${VERSION}\n`)
  })

  it('turns updates off in its own config at /etc/cco/config.toml', () => {
    const path = inImage(['config', 'path'])
    expect(path.stdout, path.stderr).toBe('/etc/cco/config.toml\n')
    for (const [key, value] of [
      ['updates.enabled', 'false'],
      ['updates.auto_install', 'false'],
    ] as const) {
      const r = inImage(['config', 'get', key])
      expect(r.status, r.stderr).toBe(0)
      expect(r.stdout).toBe(`${key} = ${value}\n`)
    }
  })

  it('runs cco as uid 65532: it cannot change the image config, and what it writes is owned by 65532', () => {
    const denied = inImage(['config', 'set', 'updates.enabled', 'true'])
    expect(denied.status).not.toBe(0)
    expect(denied.stderr).toMatch(/EACCES|permission denied/i)

    const ctr = ok('buildah from', buildah(['from', '--pull-never', `cco:${VERSION}`])).trim()
    try {
      const set = buildah(['run', '--isolation', 'chroot', '--env', 'XDG_CONFIG_HOME=/home/nonroot/cfg', ctr, '--', '/usr/local/bin/cco', 'config', 'set', 'updates.channel', 'beta'])
      expect(set.status, set.stderr).toBe(0)
      const mnt = ok('buildah mount', buildah(['mount', ctr])).trim()
      expect(statSync(join(mnt, 'home/nonroot/cfg/cco/config.toml')).uid).toBe(65532)
      buildah(['umount', ctr])
    } finally {
      buildah(['rm', ctr])
    }
  })

  it('reads a config.toml mounted over the image one, as a whole', () => {
    const mine = join(work, 'mounted-config.toml')
    writeFileSync(mine, '[updates]\nchannel = "beta"\ncheck_interval = "weekly"\n', { mode: 0o644 })
    const mount = ['--volume', `${mine}:/etc/cco/config.toml:ro`]
    expect(inImage(['config', 'get', 'updates.channel'], mount).stdout).toBe('updates.channel = beta\n')
    // Replaced, not merged: a mounted file without `enabled = false` turns checks back on.
    expect(inImage(['config', 'get', 'updates.enabled'], mount).stdout).toBe('updates.enabled = true\n')
  })

  it('starts the daemon from its entry point; the health check passes; SIGTERM stops it', async () => {
    const port = await freePort()
    const ctr = ok('buildah from', buildah(['from', '--pull-never', `cco:${VERSION}`])).trim()
    const base = ['--root', join(work, 'storage'), '--runroot', join(work, 'run'), '--storage-driver', 'vfs']
    // chroot isolation shares the host's network, so the port is a free one of this machine.
    const daemon = spawn('buildah', [...base, 'run', '--isolation', 'chroot', ctr, '--', ...config.Entrypoint, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    daemon.stdout.setEncoding('utf8').on('data', (d: string) => (log += d))
    daemon.stderr.setEncoding('utf8').on('data', (d: string) => (log += d))
    let running = true
    const exited = new Promise<number | null>((r) => daemon.on('close', r)).finally(() => (running = false))
    let pid: number | undefined
    try {
      // The image's health check, exactly as the runtime runs it, until the daemon is up.
      const [kind, ...check] = config.Healthcheck!.Test
      expect(kind).toBe('CMD')
      let health: SpawnSyncReturns<string> | undefined
      for (let i = 0; i < 100 && running; i++) {
        health = buildah(['run', '--isolation', 'chroot', ctr, '--', ...check])
        if (health.status === 0) break
        await new Promise((r) => setTimeout(r, 200))
      }
      expect(health?.status, `${health?.stdout}${health?.stderr}\n--- daemon\n${log}`).toBe(0)
      expect(health!.stdout).toMatch(/^✅ healthy\n/)
      const body = JSON.parse(health!.stdout.split('\n')[1]!) as { status: string; version: string; pid: number }
      expect(body).toMatchObject({ status: 'ok', version: VERSION })
      pid = body.pid
      // The health checks above ran synchronously: let the daemon's output in before reading it.
      const off = 'Scheduled update checks are off (updates.enabled = false)'
      for (let i = 0; i < 100 && running && !log.includes(off); i++) await new Promise((r) => setTimeout(r, 100))
      expect(log).toContain(off)
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Uid:\s+65532\s/m)
      process.kill(pid, 'SIGTERM')
      expect(await exited).toBe(0)
      expect(log).toMatch(/Received SIGTERM; cco daemon .* stopped/)
      pid = undefined
    } finally {
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
      daemon.kill('SIGKILL')
      buildah(['rm', ctr])
    }
  }, 60_000)
})
