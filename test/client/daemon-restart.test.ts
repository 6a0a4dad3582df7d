// Auto-install and self-restart with real processes against a local signed-manifest server:
// the daemon installs B and restarts into it on the same port; a B that starts but never
// reports healthy is rolled back to A (by the daemon itself, or by the watchdog when a service
// manager restarts it); a manual `cco update --yes` restarts a running daemon.
import { spawn } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { show } from '../../support/cco-process.ts'
import { unhealthyBundle } from '../support/daemon-bundles.ts'
import { daemonHost, getHealth, isAlive, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { supervise, type TestSupervisor } from '../support/daemon-supervisor.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, sha256, signManifest, type Signer } from '../../support/signed-manifest.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { PLATFORM } from '../support/update-fixture.ts'

const A = '2026.2.1'
const B = '2026.2.2'

let bundleA: string
let bundleB: string
let bundleBad: string
let signer: Signer
/** One server per kind of release, so that tests running at the same time do not interfere. */
let good: ReleaseServer
let bad: ReleaseServer
const hosts: DaemonHost[] = []
const supervisors: TestSupervisor[] = []

async function serveRelease(server: ReleaseServer, binary: Buffer): Promise<void> {
  const archive = releaseTarGz(binary)
  const name = canonicalAssetName(B, PLATFORM)
  server.file(`/download/${name}`, archive)
  const payload = manifestPayload({
    version: B,
    assets: { [PLATFORM]: { name, url: `${server.url}/download/${name}`, size: archive.length, sha256: sha256(archive) } },
  })
  server.manifest('stable', await signManifest(payload, [signer]))
}

beforeAll(async () => {
  ;[bundleA, bundleB, bundleBad, signer, good, bad] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    unhealthyBundle({ version: B }),
    createSigner('daemon-test'),
    startReleaseServer(),
    startReleaseServer(),
  ])
  await serveRelease(good, readFileSync(bundleB))
  await serveRelease(bad, readFileSync(bundleBad))
}, 90_000)

afterAll(async () => {
  await Promise.all(supervisors.map((s) => s.stop()))
  await Promise.all(hosts.map((h) => h.teardown()))
  await good?.close()
  await bad?.close()
}, 60_000)

async function host(server: ReleaseServer, config: Parameters<typeof daemonHost>[0]['config'] = {}): Promise<DaemonHost> {
  const h = await daemonHost({
    installed: bundleA,
    config: { server: server.url, keys: [signer.publicKey], ...config },
    // The health gate waits 5 s here instead of 30 s.
    env: { CCO_DAEMON_HANDOVER_TIMEOUT_MS: '5000' },
  })
  hosts.push(h)
  return h
}

const installedVersion = async (h: DaemonHost) => (await h.cco(['--version'])).stdout.trim()

describe.concurrent('auto-install and restart', () => {
  it('installs B, restarts into it on the same port, keeps A as cco.backup and logs every step', async () => {
    const h = await host(good, { autoInstall: true, interval: 'hourly' })
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pidA = h.pidRecord()!.pid
    const health = await h.waitForHealth({ version: B })
    const pidB = health.body.pid!
    expect(pidB).not.toBe(pidA)
    await waitFor('the old daemon to exit', () => !isAlive(pidA))
    expect(h.pidRecord()).toMatchObject({ pid: pidB, port: h.port, version: B })
    expect(await installedVersion(h)).toBe(`cco ${B}`)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(bundleA))

    const log = h.log()
    const order = [
      'Starting update check',
      `Current version: ${A}`,
      `Latest version: ${B}`,
      'Downloading release...',
      'Verifying checksum...',
      'Installing update...',
      `Successfully updated to ${B}`,
      `Restarting into ${B}`,
      `cco daemon ${B} listening on 127.0.0.1:${h.port} (pid ${pidB})`,
      `Restarted into ${B} (pid ${pidB})`,
    ]
    let at = 0
    for (const text of order) {
      const i = log.indexOf(text, at)
      expect(i, `"${text}" after position ${at} in\n${log}`).toBeGreaterThanOrEqual(0)
      at = i
    }
    // What administrators grep for.
    const grep = await h.cco(['daemon', 'logs'])
    const updateLines = grep.stdout.split('\n').filter((l) => /update/i.test(l))
    expect(updateLines.length).toBeGreaterThanOrEqual(4)
    const status = await h.cco(['daemon', 'status'])
    expect(status.stdout).toContain(`Version: ${B}`)
  })

  it('rolls back to A when B starts but never reports healthy', async () => {
    const h = await host(bad, { autoInstall: true, interval: '2s' })
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pidA = h.pidRecord()!.pid
    await h.waitForLog(/New daemon did not become healthy within 5 s; rolled back to 2026\.2\.1/, 30_000)
    const health = await h.waitForHealth({ version: A, notPid: pidA })
    expect(h.pidRecord()).toMatchObject({ pid: health.body.pid, version: A })
    expect(await installedVersion(h)).toBe(`cco ${A}`)
    expect(readFileSync(h.installPath)).toEqual(readFileSync(bundleA))
    await waitFor('the first daemon to exit', () => !isAlive(pidA))
    const log = h.log()
    expect(log).toContain(`New daemon ${B} did not become healthy: HTTP 503, status "unhealthy" (version ${B})`)
    expect(log).toContain(`Restarted into ${A} (pid ${health.body.pid})`)
    // The restored daemon does not install the failing version again on its next check.
    await h.waitForLog(/Not installing 2026\.2\.2 automatically: it did not become healthy on this host/, 15_000)
    expect(await installedVersion(h)).toBe(`cco ${A}`)
  })

  it('a manual `cco update --yes` restarts the running daemon into the new version', async () => {
    const h = await host(good, { autoInstall: false, interval: 'never' })
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pidA = h.pidRecord()!.pid
    const update = await h.cco(['update', '--yes'], { timeoutMs: 60_000 })
    expect(update.code, show(update)).toBe(0)
    expect(update.stdout).toContain(`✅ Successfully updated to ${B}`)
    const pidB = h.pidRecord()!.pid
    expect(pidB).not.toBe(pidA)
    expect(update.stderr).toContain(`↻ Restarted the running daemon (pid ${pidB}) on version ${B}`)
    expect((await h.health())?.body).toMatchObject({ status: 'ok', version: B, pid: pidB })
    expect(h.log()).toContain(`Restarting into ${B} (SIGUSR2: ${h.installPath} holds ${B})`)
  })

  it('a manual `cco update --yes` of a B that never reports healthy: the daemon rolls back at once and the CLI says so', async () => {
    const h = await host(bad, { autoInstall: false, interval: 'never' })
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pidA = h.pidRecord()!.pid
    const started = Date.now()
    const update = await h.cco(['update', '--yes'], { timeoutMs: 60_000 })
    const took = Date.now() - started
    expect(update.code, show(update)).toBe(0)
    expect(update.stdout).toContain(`✅ Successfully updated to ${B}`)
    // The CLI no longer holds the update lock while it waits, so the daemon's restore runs
    // right after its 5 s health gate, long before the CLI's own 35 s wait runs out.
    expect(update.stderr, show(update)).toContain(`⚠️  The daemon did not become healthy on ${B}: did not become healthy within 5 s`)
    expect(took, show(update)).toBeLessThan(25_000)
    expect(h.log()).toContain(`New daemon did not become healthy within 5 s; rolled back to ${A}`)
    expect(h.log()).not.toContain('Waiting for another update to finish before rolling back')
    const health = await h.waitForHealth({ version: A, notPid: pidA })
    expect(h.pidRecord()).toMatchObject({ pid: health.body.pid, version: A })
    expect(readFileSync(h.installPath)).toEqual(readFileSync(bundleA))
  }, 90_000)

  it('under a service manager: exits after installing, and the watchdog restores A when B is not healthy', async () => {
    const h = await host(bad, { autoInstall: true, interval: 'hourly' })
    const sup = supervise(h.installPath, { home: h.home, env: h.env, restartDelayMs: 500 })
    supervisors.push(sup)
    await h.waitForLog(/Exiting so that test-supervisor starts 2026\.2\.2/, 30_000)
    // The supervisor starts B (unhealthy); the watchdog gives it 5 s, restores A and stops B.
    await h.waitForLog(/New daemon did not become healthy within 5 s; rolled back to 2026\.2\.1/, 30_000)
    const health = await h.waitForHealth({ version: A, timeoutMs: 20_000 })
    expect(sup.pids).toContain(health.body.pid)
    expect(sup.pids.length, sup.output()).toBeGreaterThanOrEqual(3)
    expect(await installedVersion(h)).toBe(`cco ${A}`)
    expect(readFileSync(h.installPath)).toEqual(readFileSync(bundleA))
    await h.waitForLog(/Watchdog: 2026\.2\.1 is running again/, 15_000)
  })
})

describe('the health watchdog', () => {
  it('does not stop a process that is not cco, whatever pid an answer on the port names', async () => {
    const h = await host(good)
    // After an update: B installed, A kept as cco.backup; B never comes up on the port.
    h.install(bundleB)
    copyFileSync(bundleA, h.backupPath)
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' })
    h.track(bystander.pid)
    // Something else answers /health on the daemon's port and names the bystander's pid.
    const script = join(h.home, 'impostor.mjs')
    writeFileSync(
      script,
      `import { createServer } from 'node:http'\n` +
        `const body = JSON.stringify({ status: 'ok', version: '9.9.9', pid: ${bystander.pid} })\n` +
        `createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body) }).listen(${h.port}, '127.0.0.1')\n`,
    )
    const impostor = spawn(process.execPath, [script], { stdio: 'ignore' })
    h.track(impostor.pid)
    try {
      await waitFor('the impostor to answer', async () => (await getHealth(h.port))?.body.version === '9.9.9')
      const args = ['daemon', 'watchdog', '--expect', B, '--restore', A, '--port', String(h.port), '--timeout', '1', '--install-path', h.installPath]
      const r = await h.cco(args, { timeoutMs: 60_000 })
      expect(r.code, show(r)).toBe(0)
      // The backup is restored, but neither the bystander nor the impostor is touched.
      expect(readFileSync(h.installPath)).toEqual(readFileSync(bundleA))
      expect(isAlive(bystander.pid!), show(r)).toBe(true)
      expect(isAlive(impostor.pid!)).toBe(true)
      expect(r.stdout).toContain(`Watchdog: not stopping pid ${bystander.pid}: 127.0.0.1:${h.port} names it in /health, but it is not a cco process`)
    } finally {
      bystander.kill('SIGKILL')
      impostor.kill('SIGKILL')
    }
  })
})
