// The first install as a user meets it: `curl -fsSL $BROKER/install.sh | sh` against the real
// broker (`wrangler dev`), with a real release build of linux-x86_64 (the broker URL and key
// built in) published through GitHub's webhook and served by a stand-in download host. Under
// dash with curl, with wget alone, and under busybox sh with busybox's own tools; and the
// refusals: a corrupted archive, a manifest signed by another key or tampered with on the way,
// a running binary, no openssl when a signature is required. A refusal leaves nothing behind.
import { spawnSync } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentPlatform } from '../../client/src/context.ts'
import { CHANNELS } from '../../contract/manifest.ts'
import { canonicalAssetName } from '../../contract/platform.ts'
import { generateDevSecrets, generateSigningKey } from '../../scripts/lib/dev-secrets.ts'
import { renderInstallScript } from '../../worker/install/render.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { collect, REPO_ROOT, runCco, show, spawnCco, type CcoRun } from '../../support/cco-process.ts'
import { releasePayload } from '../../support/github.ts'
import { freePort } from '../../support/ports.ts'
import { mustSucceed, runReleaseBuild } from '../../support/release-build.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { sha256 } from '../../support/signed-manifest.ts'

const VERSION = '2026.11.27'
const PLATFORM = 'linux-x86_64'
const onLinuxX64 = currentPlatform() === PLATFORM
const hasBusybox = spawnSync('busybox', ['true']).status === 0
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0
const hasWget = spawnSync('wget', ['--version']).status === 0
const TEMPLATE = readFileSync(join(REPO_ROOT, 'worker/install/install.sh'), 'utf8')

let work: string
let broker: DevBroker
let downloads: ReleaseServer
let archive: Buffer
let archivePath: string

beforeAll(async () => {
  if (!onLinuxX64) return
  work = mkdtempSync(join(tmpdir(), 'cco-install-sh-'))
  const out = join(work, 'release')
  // The build bakes in the broker's address and key, so both are chosen first.
  const [port, secrets] = await Promise.all([freePort(), generateDevSecrets()])
  const brokerStarting = startBroker({ port, secrets, vars: { ASSET_HOSTS: '127.0.0.1' } })
  brokerStarting.catch(() => {})
  try {
    const build = await runReleaseBuild(['--version', VERSION, '--platforms', PLATFORM, '--out', out, '--server', `http://127.0.0.1:${port}`, '--trust-key', `${secrets.publicKey.kid}:${secrets.publicKey.x}`])
    mustSucceed(`build:release --version ${VERSION} (${PLATFORM})`, build)
  } finally {
    broker = await brokerStarting
  }
  downloads = await startReleaseServer()

  // GitHub's side: the archive on the download host, the `release published` webhook with its
  // digest; then the release engineer promotes it to stable.
  const name = canonicalAssetName(VERSION, PLATFORM)
  archive = readFileSync(join(out, name))
  archivePath = `/cco-dev/cco/releases/download/v${VERSION}/${name}`
  downloads.file(archivePath, archive)
  const payload = releasePayload({ action: 'published', tag: `v${VERSION}`, assets: [{ name, url: `${downloads.url}${archivePath}`, size: archive.length, digest: `sha256:${sha256(archive)}` }] })
  const hook = await broker.sendWebhook('release', payload)
  expect(hook.status, broker.output()).toBe(200)
  const promote = await fetch(`${broker.url}/v1/channels/stable/promote`, {
    method: 'POST',
    headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ version: VERSION }),
  })
  expect(promote.status, await promote.text()).toBe(200)
}, 300_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

interface Host {
  home: string
  /** Where mktemp puts the script's own temporary files (checked empty after each run). */
  tmp: string
  binDir: string
}

function newHost(): Host {
  const home = mkdtempSync(join(work, 'home-'))
  const tmp = join(home, 'tmp')
  mkdirSync(tmp)
  return { home, tmp, binDir: join(home, '.local/bin') }
}

/**
 * Runs a shell command line on the host, the way a user types it into a terminal. `path`
 * replaces PATH (the Node 22 directory is left out, so nothing finds a `node` by accident).
 */
function onHost(h: Host, command: string, o: { path?: string; env?: Record<string, string> } = {}): Promise<CcoRun> {
  const env = { PATH: o.path ?? '/usr/local/bin:/usr/bin:/bin', TMPDIR: h.tmp, BROKER: broker.url, ...o.env }
  return collect(spawnCco('/bin/dash', ['-c', command], { home: h.home, env }), { timeoutMs: 120_000 })
}

/** A directory of links to every command in /usr/bin and /bin except `without`: a PATH for hosts that lack them. */
function pathWithout(without: string[]): string {
  const dir = mkdtempSync(join(work, 'path-'))
  for (const from of ['/usr/bin', '/bin']) {
    for (const name of readdirSync(from)) {
      if (without.includes(name) || existsSync(join(dir, name))) continue
      symlinkSync(join(from, name), join(dir, name))
    }
  }
  return dir
}

/** The single script file `renderInstallScript` makes with other settings (another key or address). */
function scriptWith(o: { brokerUrl?: string; keys?: string[] }): string {
  const file = join(mkdtempSync(join(work, 'script-')), 'install.sh')
  writeFileSync(file, renderInstallScript(TEMPLATE, { brokerUrl: o.brokerUrl ?? broker.url, product: 'cco', channels: CHANNELS, keys: o.keys ?? [broker.secrets.publicKey.x] }))
  return file
}

function expectInstalled(h: Host, run: CcoRun, dir = h.binDir): void {
  expect(run.code, show(run)).toBe(0)
  expect(run.stdout).toContain(`Installed cco ${VERSION} to ${dir}/cco`)
  expect(readdirSync(dir)).toEqual(['cco'])
  expect(readdirSync(h.tmp)).toEqual([])
}

/** A refusal: a non-zero exit, the reason on stderr, and nothing left in the install dir or the temp dir. */
function expectRefused(h: Host, run: CcoRun, reason: RegExp, dirBefore: string[] = []): void {
  expect(run.code, show(run)).not.toBe(0)
  expect(run.stderr).toMatch(reason)
  expect(run.stdout).not.toContain('Installed cco')
  expect(existsSync(h.binDir) ? readdirSync(h.binDir) : []).toEqual(dirBefore)
  expect(readdirSync(h.tmp)).toEqual([])
}

describe('the script file', () => {
  it.skipIf(!hasShellcheck)('passes shellcheck as POSIX sh and as dash', () => {
    for (const shell of ['sh', 'dash']) {
      const r = spawnSync('shellcheck', ['-s', shell, join(REPO_ROOT, 'worker/install/install.sh')], { encoding: 'utf8' })
      expect(r.status, r.stdout + r.stderr).toBe(0)
    }
  })
})

describe.skipIf(!onLinuxX64)('curl -fsSL $BROKER/install.sh | sh', () => {
  it('under dash with curl installs a working cco that updates itself with no config file', { timeout: 120_000 }, async () => {
    const h = newHost()
    const run = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash')
    expectInstalled(h, run)
    expect(run.stdout).toContain(`Installing cco from ${broker.url} (channel stable, linux-x86_64)`)
    expect(run.stdout).toContain('Manifest signature verified')
    expect(run.stderr).toBe('')
    // ~/.local/bin is not on this PATH: the script says what to add.
    expect(run.stdout).toContain(`${h.binDir} is not on your PATH. Add it, e.g. in ~/.profile:\n  export PATH="${h.binDir}:$PATH"\n`)

    // No config file: the release build carries the broker's URL and key.
    expect(existsSync(join(h.home, '.config/cco/config.toml'))).toBe(false)
    const cco = (args: string[]) => runCco(join(h.binDir, 'cco'), args, { home: h.home, timeoutMs: 60_000 })
    const version = await cco(['--version'])
    expect(version.stdout, show(version)).toBe(`cco ${VERSION}\n`)
    const check = await cco(['update', '--check'])
    expect(check.code, show(check)).toBe(0)
    expect(check.stdout).toContain('✅ You are running the latest version')

    // Run again: already there and idle, so it says how to update instead of reinstalling.
    const again = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash', { path: `${h.binDir}:/usr/local/bin:/usr/bin:/bin` })
    expect(again.code, show(again)).toBe(0)
    expect(again.stdout).toContain(`cco is already installed at ${h.binDir}/cco (cco ${VERSION}).\nTo update it, run: cco update\n`)
    expect(again.stdout).not.toContain('Installed cco')
    const forced = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash -s -- --force', { path: `${h.binDir}:/usr/local/bin:/usr/bin:/bin` })
    expectInstalled(h, forced)
    expect(forced.stdout).not.toContain('is not on your PATH')
  })

  it.skipIf(!hasWget)('works with wget alone (no curl on PATH), the channel and install dir from the environment', { timeout: 120_000 }, async () => {
    const h = newHost()
    const dir = join(h.home, 'opt', 'bin')
    const path = pathWithout(['curl'])
    expect(existsSync(join(path, 'curl'))).toBe(false)
    const run = await onHost(h, 'wget -qO- "$BROKER/install.sh" | dash', { path, env: { CCO_CHANNEL: 'beta', CCO_INSTALL_DIR: dir } })
    expectInstalled(h, run, dir)
    expect(run.stdout).toContain('(channel beta, linux-x86_64)')
    expect(run.stdout).toContain('Manifest signature verified')
  })

  it.skipIf(!hasBusybox)("works under busybox sh with busybox's own tools (wget, awk, tar, sha256sum) and its options", { timeout: 120_000 }, async () => {
    const h = newHost()
    // A busybox userland, as on Alpine: every applet, plus openssl for the signature.
    const path = mkdtempSync(join(work, 'busybox-'))
    const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim()
    for (const applet of spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) symlinkSync(busybox, join(path, applet))
    symlinkSync('/usr/bin/openssl', join(path, 'openssl'))
    const dir = join(h.home, 'tools')
    const run = await onHost(h, `wget -qO- "$BROKER/install.sh" | sh -s -- --channel beta --install-dir "${dir}"`, { path })
    expectInstalled(h, run, dir)
    expect(run.stdout).toContain('Manifest signature verified')
    expect(run.stdout).toContain('(channel beta, linux-x86_64)')
  })

  it('without openssl says it relies on TLS alone, and refuses when a signature is required', { timeout: 120_000 }, async () => {
    const path = pathWithout(['openssl'])
    const strict = newHost()
    const refused = await onHost(strict, 'curl -fsSL "$BROKER/install.sh" | dash -s -- --require-signature', { path })
    expectRefused(strict, refused, /openssl cannot verify Ed25519 signatures here .*a verified signature was required: nothing installed/)

    const h = newHost()
    const run = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash', { path })
    expectInstalled(h, run)
    expect(run.stderr).toContain('warning: openssl cannot verify Ed25519 signatures here (OpenSSL 3 is needed): the manifest\'s signature is NOT checked, this install relies on TLS alone.')
    expect(run.stdout).not.toContain('Manifest signature verified')
  })
})

describe.skipIf(!onLinuxX64)('refusals', () => {
  it('refuses a corrupted archive (same size, other bytes) and leaves the install dir untouched', { timeout: 120_000 }, async () => {
    const h = newHost()
    mkdirSync(h.binDir, { recursive: true })
    writeFileSync(join(h.binDir, 'other-tool'), 'keep me')
    const corrupted = Buffer.from(archive)
    corrupted[corrupted.length >> 1]! ^= 0xff
    downloads.file(archivePath, corrupted)
    try {
      const run = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash')
      expectRefused(h, run, new RegExp(`error: the archive's sha256 is ${sha256(corrupted)}, the manifest says ${sha256(archive)}: refusing it, nothing installed`), ['other-tool'])
      expect(readFileSync(join(h.binDir, 'other-tool'), 'utf8')).toBe('keep me')

      downloads.file(archivePath, archive.subarray(0, 1000))
      const short = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash')
      expectRefused(h, short, new RegExp(`error: the archive is 1000 bytes, the manifest says ${archive.length}: refusing it`), ['other-tool'])
    } finally {
      downloads.file(archivePath, archive)
    }
  })

  it('refuses a manifest signed by a key the script does not trust', { timeout: 60_000 }, async () => {
    const other = await generateSigningKey('someone-else')
    const h = newHost()
    const run = await onHost(h, `dash "${scriptWith({ keys: [other.x] })}"`)
    expectRefused(h, run, /the manifest's signature does not verify with the broker's keys .*refusing it, nothing installed/)
  })

  it('refuses a manifest tampered with on the way, through a proxy that passes everything else', { timeout: 120_000 }, async () => {
    let tamper = false
    const otherDigests: Rewrite = (p) => p.replace(/"sha256":"[0-9a-f]{64}"/g, `"sha256":"${'0'.repeat(64)}"`)
    const proxy = await startTamperingProxy(broker.url, () => (tamper ? otherDigests : null))
    try {
      const script = scriptWith({ brokerUrl: proxy.url })
      // Passed through untouched, the proxy changes nothing: the script installs.
      const control = newHost()
      expectInstalled(control, await onHost(control, `dash "${script}"`))

      tamper = true
      const h = newHost()
      const run = await onHost(h, `dash "${script}"`)
      expectRefused(h, run, /the manifest's signature does not verify with the broker's keys/)
      expect(proxy.tampered()).toBeGreaterThan(0)
    } finally {
      await proxy.close()
    }
  })

  it('reads a hostile payload (TLS alone, no openssl) as JSON, never by pattern, and uses only values of the expected shape', { timeout: 120_000 }, async () => {
    const path = pathWithout(['openssl'])
    let rewrite: Rewrite | null = null
    const proxy = await startTamperingProxy(broker.url, () => rewrite)
    /** The payload with the platform's asset changed by `edit` (re-serialized as the broker does). */
    const withAsset = (edit: (a: Record<string, unknown>) => void): Rewrite => (p) => {
      const doc = JSON.parse(p) as { release: { assets: Record<string, Record<string, unknown>> } }
      edit(doc.release.assets[PLATFORM]!)
      return JSON.stringify(doc)
    }
    try {
      const script = scriptWith({ brokerUrl: proxy.url })
      const install = async (r: Rewrite) => {
        rewrite = r
        const h = newHost()
        return { h, run: await onHost(h, `dash "${script}"`, { path }) }
      }

      // Notes that look like fields to a pattern match (`"url":"…"` inside a string) change nothing.
      const decoy = `","url":"http://127.0.0.1:9/evil.tar.gz","size":1,"sha256":"${'0'.repeat(64)}`
      const notes = await install((p) => {
        const doc = JSON.parse(p) as { release: { notes: string } }
        doc.release.notes = `${decoy}\n${decoy.replace(/"/g, '\\"')}`
        return JSON.stringify(doc)
      })
      expectInstalled(notes.h, notes.run)
      expect(notes.run.stderr).toContain('relies on TLS alone')

      const refusals: [string, Rewrite, RegExp][] = [
        ['a second sha256 key', (p) => p.replace(/"sha256":"([0-9a-f]{64})"/, `"sha256":"$1","sha256":"${'0'.repeat(64)}"`), /the manifest gives no sha256 for linux-x86_64: refusing it/],
        ['a URL with shell syntax', withAsset((a) => (a.url = `${String(a.url)}$(touch${' '}pwned)`)), /the manifest's download URL has unexpected characters: refusing it/],
        ['a URL with a quote', withAsset((a) => (a.url = `${String(a.url)}'x`)), /the manifest's download URL has unexpected characters: refusing it/],
        ['a non-http URL', withAsset((a) => (a.url = 'file:///etc/passwd')), /the manifest's download URL is not http\(s\): refusing it/],
        ['a size that is not a number', withAsset((a) => (a.size = '1;id')), /the manifest's size is not a positive integer: refusing it/],
        ['a sha256 in capitals', withAsset((a) => (a.sha256 = String(a.sha256).toUpperCase())), /the manifest's sha256 is not lowercase hex: refusing it/],
        ['an escaped character in the version', (p) => p.replace(`"version":"${VERSION}"`, `"version":"${VERSION}\\u0027"`), /the manifest's version has unexpected characters: refusing it/],
        ['another channel', (p) => p.replace('"channel":"stable"', '"channel":"beta"'), /the manifest is not for channel stable: refusing it/],
        ['another product', (p) => p.replace('"product":"cco"', '"product":"ccx"'), /the manifest is not for cco: refusing it/],
        ['an expired manifest', (p) => p.replace(/"expires_at":"[^"]*"/, '"expires_at":"2020-01-01T00:00:00Z"'), /the manifest expired at 2020-01-01T00:00:00 UTC/],
        ['malformed JSON', (p) => p.slice(0, -1), /the manifest's payload is malformed JSON: refusing it/],
        ['a raw control character', (p) => p.replace('"product":"cco"', '"product":"cco","x":"a\tb"'), /the manifest's payload is malformed JSON: refusing it/],
      ]
      for (const [what, r, reason] of refusals) {
        const { h, run } = await install(r)
        try {
          expectRefused(h, run, reason)
        } catch (err) {
          throw new Error(`${what}: ${(err as Error).message}`)
        }
      }
      expect(readdirSync(work, { recursive: true }).some((n) => String(n).endsWith('pwned'))).toBe(false)
    } finally {
      await proxy.close()
    }
  })

  it('refuses to replace a binary a process is running, and says how to update instead', { timeout: 60_000 }, async () => {
    const h = newHost()
    mkdirSync(h.binDir, { recursive: true })
    // Any long-running program installed as cco stands for the daemon.
    const target = join(h.binDir, 'cco')
    copyFileSync('/bin/sleep', target)
    chmodSync(target, 0o755)
    const before = sha256(readFileSync(target))
    const running = spawnCco(target, ['60'], { home: h.home })
    try {
      const run = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash -s -- --force')
      expectRefused(h, run, /cco is running from .*\/\.local\/bin\/cco \(the daemon\?\): run 'cco update' to update it in place, or stop it first \('cco daemon stop'\)/, ['cco'])
      expect(sha256(readFileSync(target))).toBe(before)
    } finally {
      running.kill('SIGKILL')
    }
  })

  it("refuses while the daemon runs from its private copy for this install path", { timeout: 60_000 }, async () => {
    const h = newHost()
    mkdirSync(h.binDir, { recursive: true })
    const target = join(h.binDir, 'cco')
    copyFileSync('/bin/sleep', target)
    // What `cco run` does (client/src/daemon/private-copy.ts): it runs from
    // <state dir>/run/cco-<version>-<pid> and carries the install path it stands for.
    const runDir = join(h.home, '.local/state/cco/run')
    mkdirSync(runDir, { recursive: true })
    const copy = join(runDir, `cco-${VERSION}-1`)
    copyFileSync('/bin/sleep', copy)
    chmodSync(copy, 0o755)
    const daemon = spawnCco(copy, ['60'], { home: h.home, env: { CCO_DAEMON_INSTALL_PATH: target } })
    // The same kind of copy for another install path does not count.
    const elsewhere = spawnCco(copy, ['60'], { home: h.home, env: { CCO_DAEMON_INSTALL_PATH: join(h.home, 'other/cco') } })
    try {
      const run = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash -s -- --force')
      expectRefused(h, run, /cco is running from .*\/\.local\/bin\/cco \(the daemon\?\)/, ['cco'])
      daemon.kill('SIGKILL')
      await new Promise((r) => daemon.once('exit', r))
      const after = await onHost(h, 'curl -fsSL "$BROKER/install.sh" | dash -s -- --force')
      expectInstalled(h, after)
    } finally {
      daemon.kill('SIGKILL')
      elsewhere.kill('SIGKILL')
    }
  })

  it('keeps a hostile broker address inside its quoting: the script prints it and runs nothing of it', async () => {
    const h = newHost()
    const hostile = `http://127.0.0.1:9/a'$(touch "${h.home}/pwned")\`touch ${h.home}/pwned2\`;touch ${h.home}/pwned3'`
    const run = await onHost(h, `dash "${scriptWith({ brokerUrl: hostile })}" --help`)
    expect(run.code, show(run)).toBe(0)
    expect(run.stdout.split('\n')[0]).toBe(`Installs cco from ${hostile}`)
    expect(readdirSync(h.home).filter((n) => n.startsWith('pwned'))).toEqual([])
  })
})

/** Rewrites a manifest's payload text (and leaves its signatures as they were). */
type Rewrite = (payload: string) => string

/**
 * A stand-in for a network between the host and the broker: passes every request through and,
 * while `rewrite()` gives a function, rewrites the manifest's payload with it.
 */
async function startTamperingProxy(upstream: string, rewrite: () => Rewrite | null): Promise<{ url: string; tampered(): number; close(): Promise<void> }> {
  let count = 0
  const server: Server = createServer(async (req, res) => {
    const answer = await fetch(`${upstream}${req.url}`, { redirect: 'manual' })
    let body = Buffer.from(await answer.arrayBuffer())
    const change = rewrite()
    if (change && req.url?.endsWith('/manifest') && answer.status === 200) {
      const jws = JSON.parse(body.toString('utf8')) as { payload: string }
      jws.payload = Buffer.from(change(Buffer.from(jws.payload, 'base64url').toString('utf8'))).toString('base64url')
      body = Buffer.from(JSON.stringify(jws))
      count++
    }
    const headers: Record<string, string> = { 'content-length': String(body.length) }
    for (const name of ['content-type', 'location']) {
      const value = answer.headers.get(name)
      if (value) headers[name] = value
    }
    res.writeHead(answer.status, headers)
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tampered: () => count,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
