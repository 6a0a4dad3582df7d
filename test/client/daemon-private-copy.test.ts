// The daemon never keeps the install path busy: a real Node single executable installed at
// ~/.local/bin/cco, started as the daemon, runs from its private copy in the state dir
// (daemon/private-copy.ts), so the administrator guide's manual rollback `cp
// ~/.local/bin/cco.backup ~/.local/bin/cco` works while it runs (a file the kernel executes
// refuses writers with ETXTBSY, "Text file busy"; a bundle run by `node` never is, which is why
// this needs a single executable), and so does the guide's rolling-update.sh rollback branch.
// The copy is recognised as the daemon by status, stop, restart, the watchdog and the SIGUSR2
// after a rollback; it is removed when the daemon exits, and a killed daemon's copy by the next start.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostPlatform, injectBlob, makeBlob } from '../../scripts/lib/sea.ts'
import { childEnv, REPO_ROOT, runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { freePort } from '../../support/ports.ts'
import { daemonHost, isAlive, waitFor, type DaemonHost } from '../support/daemon-host.ts'

const A = '2026.3.1'
const B = '2026.3.2'
const platform = hostPlatform()
const canBuild = process.platform === 'linux' && platform !== null

/** A single executable of `version` (the client bundle injected into this Node), cached per source state. */
async function singleExecutable(version: string): Promise<string> {
  const bundle = await clientBundle({ version })
  const file = `${bundle}-sea`
  if (existsSync(file) && statSync(file).size > 0) return file
  const work = `${file}.${process.pid}.d`
  mkdirSync(work, { recursive: true })
  try {
    // The SEA runs the bundle as a CommonJS script: the shebang line is only for `node cco.cjs`.
    const main = join(work, 'main.cjs')
    writeFileSync(main, readFileSync(bundle, 'utf8').replace(/^#![^\n]*\n/, ''))
    await makeBlob(main, join(work, 'sea.blob'), { codeCache: false, version })
    await injectBlob(process.execPath, join(work, 'sea.blob'), join(work, 'cco'), platform!)
    renameSync(join(work, 'cco'), file)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return file
}

let sea: string
let bundleB: string
const hosts: DaemonHost[] = []
beforeAll(async () => {
  if (!canBuild) return
  ;[sea, bundleB] = await Promise.all([singleExecutable(A), clientBundle({ version: B })])
}, 180_000)
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.teardown()))
}, 60_000)

async function seaHost(): Promise<DaemonHost> {
  // No broker: updates go to a closed port and fail fast.
  const h = await daemonHost({ installed: sea, config: { server: `http://127.0.0.1:${await freePort()}` } })
  hosts.push(h)
  // The previous version, kept beside it as an update leaves it.
  copyFileSync(bundleB, h.backupPath)
  return h
}

const runDir = (h: DaemonHost) => join(h.stateDir, 'run')
const copies = (h: DaemonHost) => (existsSync(runDir(h)) ? readdirSync(runDir(h)).sort() : [])
const exeOf = (pid: number) => readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '')

function sh(script: string, h: DaemonHost, env: Record<string, string> = {}) {
  // `cco` on PATH is the installed single executable, as on a real host.
  const e = childEnv(h.home, { ...env, PATH: `${dirname(h.installPath)}:${childEnv(h.home).PATH}` })
  return spawnSync('sh', ['-c', script], { env: e, cwd: h.home, encoding: 'utf8', timeout: 90_000 })
}

describe.runIf(canBuild).concurrent('the daemon runs from a private copy, never from the install path', () => {
  it("lets the guide's cp over the install path succeed while the daemon runs, and stop removes the copy", async () => {
    const h = await seaHost()
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pid = h.pidRecord()!.pid
    h.track(pid)
    const copy = join(runDir(h), `cco-${A}-${pid}`)
    // The kernel runs the copy, and the pid file says so; the directory is private.
    expect(exeOf(pid)).toBe(copy)
    expect(h.pidRecord()!.binary).toBe(copy)
    expect(copies(h)).toEqual([`cco-${A}-${pid}`])
    expect(statSync(runDir(h)).mode & 0o777).toBe(0o700)
    expect(readFileSync(copy).equals(readFileSync(h.installPath))).toBe(true)

    const cp = sh('cp ~/.local/bin/cco.backup ~/.local/bin/cco', h)
    expect(cp.status, cp.stderr).toBe(0)
    expect(readFileSync(h.installPath).equals(readFileSync(bundleB))).toBe(true)

    // Still the daemon for status and stop, though its program is neither cco nor the asker's.
    const status = await h.cco(['daemon', 'status'])
    expect(status.code, show(status)).toBe(0)
    expect(status.stdout).toMatch(new RegExp(`^Running: true\nPID: ${pid}\n`))
    // It still stands for the install path, not for its copy.
    expect(h.log()).toContain(`Running from a private copy of ${h.installPath} (${copy})`)
    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(stop.stdout).toBe(`Stopped cco daemon (pid ${pid})\n`)
    expect(isAlive(pid)).toBe(false)
    expect(copies(h)).toEqual([])
  })

  it("runs the guide's rolling-update.sh rollback branch with the daemon running", async () => {
    const h = await seaHost()
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const before = h.pidRecord()!.pid
    h.track(before)
    // The script's health check looks at a port where nothing answers: the rollback branch.
    const script = join(REPO_ROOT, 'test/fixtures/admin-guide/rolling-update.sh')
    const r = sh(`sh ${script}`, h, { HEALTH_URL: `http://127.0.0.1:${await freePort()}/health` })
    expect(r.stdout, `${r.stdout}\n${r.stderr}`).toContain('❌ Health check failed, rolling back')
    expect(r.stderr).not.toMatch(/busy/i)
    expect(r.stdout).toContain(`↩️  Rolled back to ${B}`)
    expect(r.status).toBe(1)
    // The restart ran the restored binary: a new daemon on B, the old one and its copy gone.
    const after = h.pidRecord()!
    h.track(after.pid)
    expect(after.pid).not.toBe(before)
    expect(after.version).toBe(B)
    expect(isAlive(before)).toBe(false)
    expect(copies(h)).toEqual([])
  })

  it('removes the copy of a killed daemon on the next start, and restart replaces the copy', async () => {
    const h = await seaHost()
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const killed = h.pidRecord()!.pid
    process.kill(killed, 'SIGKILL')
    await waitFor('the killed daemon to be gone', () => !isAlive(killed))
    expect(copies(h)).toEqual([`cco-${A}-${killed}`])

    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pid = h.pidRecord()!.pid
    h.track(pid)
    expect(copies(h)).toEqual([`cco-${A}-${pid}`])

    const restart = await h.cco(['daemon', 'restart'])
    expect(restart.code, show(restart)).toBe(0)
    const next = h.pidRecord()!.pid
    h.track(next)
    expect(next).not.toBe(pid)
    expect(exeOf(next)).toBe(join(runDir(h), `cco-${A}-${next}`))
    expect(copies(h)).toEqual([`cco-${A}-${next}`])
    expect((await h.cco(['daemon', 'stop'])).code).toBe(0)
    expect(copies(h)).toEqual([])
  })

  it('is confirmed as the daemon and stopped by the watchdog when the version it waits for never comes', async () => {
    const h = await seaHost()
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pid = h.pidRecord()!.pid
    h.track(pid)
    // As after an update under a service manager: the watchdog runs from cco.backup, waits for a
    // version that does not come, restores the backup and stops the daemon the pid file names.
    const args = ['daemon', 'watchdog', '--expect', '2026.3.9', '--restore', B, '--port', String(h.port), '--timeout', '1', '--install-path', h.installPath]
    const r = await runCco(h.backupPath, args, { home: h.home, timeoutMs: 60_000 })
    expect(r.code, show(r)).toBe(0)
    // Started by hand here, the watchdog logs to its stdout (under a daemon, to daemon.log).
    expect(r.stdout).toContain(`New daemon did not become healthy within 1 s; rolled back to ${B} (stopped pid ${pid})`)
    expect(h.log()).toContain(`Received SIGTERM; cco daemon ${A} (pid ${pid}) stopped`)
    expect(isAlive(pid)).toBe(false)
    expect(readFileSync(h.installPath).equals(readFileSync(bundleB))).toBe(true)
    expect(copies(h)).toEqual([])
  })

  it('runs in place and says why when no private copy can be made (a run directory planted as a link)', async () => {
    const h = await seaHost()
    const elsewhere = join(h.home, 'elsewhere')
    mkdirSync(elsewhere)
    mkdirSync(h.stateDir, { recursive: true })
    symlinkSync(elsewhere, runDir(h))
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pid = h.pidRecord()!.pid
    h.track(pid)
    expect(exeOf(pid)).toBe(h.installPath)
    expect(readdirSync(elsewhere)).toEqual([])
    expect(h.log()).toMatch(/\[WARN\] Running from .*\/\.local\/bin\/cco itself \(could not copy the program to .*\/run: .*is not a directory\): while this daemon runs, that file cannot be overwritten in place/)
    expect((await h.cco(['daemon', 'stop'])).code).toBe(0)
  })

  it('is restarted into the install path by the SIGUSR2 after cco rollback, which finds it by its copy', async () => {
    const h = await seaHost()
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pid = h.pidRecord()!.pid
    h.track(pid)
    const rollback = await h.cco(['rollback'])
    expect(rollback.code, show(rollback)).toBe(0)
    const next = h.pidRecord()!
    h.track(next.pid)
    expect(rollback.stdout + rollback.stderr).toContain(`Restarted the running daemon (pid ${next.pid}) on version ${B}`)
    expect(next.version).toBe(B)
    await waitFor('the old daemon to exit', () => !isAlive(pid))
    // The old daemon took its copy with it; the new one is a bundle run by Node, in place.
    expect(copies(h)).toEqual([])
  })
})
