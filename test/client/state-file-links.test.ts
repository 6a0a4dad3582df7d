// State and log files are never written, truncated, rotated or chmod-ed through a link planted
// at their path (daemon.log and its rotations, updates.log, daemon.pid, host-id): real files in
// temp dirs, real cco processes for the daemon, a victim file whose bytes and mode must not change.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../client/src/system/clock.ts'
import { ensureHostId } from '../../client/src/system/host-id.ts'
import { readPidFile } from '../../client/src/system/pid-file.ts'
import { openRotatingLog } from '../../client/src/system/rotating-log.ts'
import { UnsafeStateFileError } from '../../client/src/system/state-file.ts'
import { appendUpdateLog } from '../../client/src/system/update-log.ts'
import { show } from '../../support/cco-process.ts'
import { daemonHostsOf, isAlive, waitFor } from '../support/daemon-host.ts'

const VICTIM_TEXT = 'root:x:0:0:root:/root:/bin/bash\n'

let dir: string
let victim: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cco-links-'))
  victim = join(dir, 'passwd')
  writeFileSync(victim, VICTIM_TEXT)
  chmodSync(victim, 0o644)
  return () => rmSync(dir, { recursive: true, force: true })
})

function expectVictimUntouched(path = victim): void {
  expect(readFileSync(path, 'utf8')).toBe(VICTIM_TEXT)
  expect(statSync(path).mode & 0o777).toBe(0o644)
}

describe('daemon.log and its rotations', () => {
  it('refuses a symlinked daemon.log without writing or chmod-ing its target', () => {
    const log = join(dir, 'daemon.log')
    symlinkSync(victim, log)
    expect(() => openRotatingLog(log)).toThrow(UnsafeStateFileError)
    expect(() => openRotatingLog(log)).toThrow(`refusing to use ${log}: it is a symbolic link`)
    expectVictimUntouched()
  })

  it('refuses a hard link and a fifo in its place', () => {
    const log = join(dir, 'daemon.log')
    linkSync(victim, log)
    expect(() => openRotatingLog(log)).toThrow('it has 2 hard links')
    expectVictimUntouched()
    rmSync(log)
    const fifo = spawn('mkfifo', [log])
    return new Promise<void>((resolve) =>
      fifo.on('exit', () => {
        expect(() => openRotatingLog(log)).toThrow(UnsafeStateFileError)
        resolve()
      }),
    )
  })

  it('rotates past links planted at daemon.log.N and one put at daemon.log while it runs', () => {
    const log = join(dir, 'daemon.log')
    const victims = [1, 2, 3].map((n) => {
      const v = join(dir, `victim-${n}`)
      writeFileSync(v, VICTIM_TEXT)
      chmodSync(v, 0o644)
      return v
    })
    symlinkSync(victims[0]!, `${log}.1`)
    symlinkSync(victims[1]!, `${log}.2`)
    const out = openRotatingLog(log, { maxBytes: 64, keep: 2 })
    for (let i = 0; i < 20; i++) out.write(`line ${i} ${'x'.repeat(20)}\n`)
    // Swapped for a link while the daemon runs: the next write does not go through it.
    rmSync(log)
    symlinkSync(victims[2]!, log)
    for (let i = 0; i < 5; i++) out.write(`after ${i}\n`)
    out.close()
    for (const v of victims) expectVictimUntouched(v)
    expect(lstatSync(log).isSymbolicLink()).toBe(true)
    for (const n of [1, 2]) expect(lstatSync(`${log}.${n}`).isFile()).toBe(true)
    expect(readFileSync(`${log}.1`, 'utf8')).toMatch(/^line \d+/)
  })

  it('sets 0600 on its own file through the descriptor', () => {
    const log = join(dir, 'daemon.log')
    writeFileSync(log, 'old\n')
    chmodSync(log, 0o644)
    const out = openRotatingLog(log)
    out.write('new\n')
    out.close()
    expect(statSync(log).mode & 0o777).toBe(0o600)
  })
})

describe('updates.log', () => {
  it('appends nothing through a symlink, a hard link or to a fifo (best effort: reported as not written)', () => {
    const log = join(dir, 'updates.log')
    symlinkSync(victim, log)
    expect(appendUpdateLog(log, systemClock, 'info', 'check: 1 -> 2')).toBe(false)
    rmSync(log)
    linkSync(victim, log)
    expect(appendUpdateLog(log, systemClock, 'info', 'check: 1 -> 2')).toBe(false)
    expectVictimUntouched()
    rmSync(log)
    expect(appendUpdateLog(log, systemClock, 'info', 'check: 1 -> 2')).toBe(true)
    expect(readFileSync(log, 'utf8')).toMatch(/\[INFO\] check: 1 -> 2\n$/)
  })
})

describe('host-id', () => {
  it('refuses a symlinked host-id and leaves its target alone', () => {
    const file = join(dir, 'host-id')
    symlinkSync(victim, file)
    expect(() => ensureHostId(file)).toThrow(`refusing to use ${file}: it is a symbolic link`)
    expectVictimUntouched()
    rmSync(file)
    const id = ensureHostId(file)
    expect(readFileSync(file, 'utf8')).toBe(`${id}\n`)
    expect(statSync(file).mode & 0o777).toBe(0o600)
  })
})

describe('through a real daemon', () => {
  const VERSION = '2026.1.1'
  const hosts = daemonHostsOf(VERSION)
  const host = async () => {
    const h = await hosts.host()
    mkdirSync(h.stateDir, { recursive: true })
    return h
  }

  it('`cco daemon start` refuses a symlinked daemon.log, and writes nothing through it', async () => {
    const h = await host()
    symlinkSync(victim, h.logFile)
    const r = await h.cco(['daemon', 'start'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toContain(`refusing to use ${h.logFile}: it is a symbolic link`)
    expect(r.stderr).toContain(`rm ${h.logFile}`)
    expect(existsSync(h.pidFile)).toBe(false)
    expectVictimUntouched()
  })

  it('`cco daemon logs` does not print a file through a symlink planted at daemon.log', async () => {
    const h = await host()
    symlinkSync(victim, h.logFile)
    for (const args of [['daemon', 'logs'], ['daemon', 'logs', '-n', '5'], ['daemon', 'logs', '--json']]) {
      const r = await h.cco(args)
      expect(r.code, show(r)).toBe(1)
      expect(r.stderr).toContain(`refusing to use ${h.logFile}: it is a symbolic link`)
      expect(r.stdout + r.stderr).not.toContain('root:x:0:0')
    }
    expectVictimUntouched()
  })

  it('`cco run` under a service manager refuses a symlinked daemon.log', async () => {
    const h = await host()
    symlinkSync(victim, h.logFile)
    const r = await h.cco(['run'], { env: { CCO_SUPERVISED: 'test' } })
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toContain(`refusing to use ${h.logFile}: it is a symbolic link`)
    expectVictimUntouched()
  })

  it('replaces a symlinked pid file with its own (0600) and never writes its target; status removes such a link', async () => {
    const h = await host()
    symlinkSync(victim, h.pidFile)
    const status = await h.cco(['daemon', 'status'])
    expect(status.code, show(status)).toBe(3)
    expect(status.stderr).toContain(`removed an unreadable pid file (refusing to use ${h.pidFile}: it is a symbolic link`)
    expect(existsSync(h.pidFile)).toBe(false)
    expectVictimUntouched()

    symlinkSync(victim, h.pidFile)
    expect(readPidFile(h.pidFile).kind).toBe('corrupt')
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pid = h.pidRecord()!.pid
    expect(lstatSync(h.pidFile).isFile()).toBe(true)
    expect(statSync(h.pidFile).mode & 0o777).toBe(0o600)
    expectVictimUntouched()
    // A link planted while it runs: stop reads no pid through it (the link itself is removed as
    // an unreadable pid file) and the target stays as it was.
    rmSync(h.pidFile)
    symlinkSync(victim, h.pidFile)
    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(stop.stdout).toBe('cco daemon is not running\n')
    expect(lstatSync(h.pidFile, { throwIfNoEntry: false })).toBeUndefined()
    expect(isAlive(pid)).toBe(true)
    expectVictimUntouched()
    process.kill(pid, 'SIGTERM')
    await waitFor(`pid ${pid} to exit`, () => !isAlive(pid), 10_000)
    expectVictimUntouched()
  })
})
