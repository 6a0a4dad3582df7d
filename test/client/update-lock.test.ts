// One updater per host: the lock file, stale-lock takeover, waiting and refusing, and two real
// `cco update` processes started together (never both swap).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CliError } from '../../client/src/errors.ts'
import { processStartTicks } from '../../client/src/system/process-info.ts'
import { acquireLock, tryAcquireLock } from '../../client/src/update/lock.ts'
import { collect, show, spawnCco } from '../../support/cco-process.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let dir: string
let lockPath: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cco-lock-'))
  lockPath = join(dir, 'update.lock')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function owner(pid: number, startTicks: string | null = null) {
  return JSON.stringify({ pid, start_ticks: startTicks, started_at: new Date().toISOString(), host: hostname(), token: 'theirs' })
}

async function deadPid(): Promise<number> {
  const child = spawn('true')
  await new Promise((r) => child.on('exit', r))
  return child.pid!
}

describe('the update lock', () => {
  it('is taken and released', async () => {
    const lock = await acquireLock(lockPath)
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid })
    expect(lock.waitedMs).toBe(0)
    lock.release()
    expect(existsSync(lockPath)).toBe(false)
  })

  it('takes over a lock left by a dead process', async () => {
    writeFileSync(lockPath, owner(await deadPid()))
    const lock = await acquireLock(lockPath, { waitMs: 0 })
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid)
    lock.release()
  })

  it('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    const sleeper = spawn('sleep', ['30'])
    try {
      writeFileSync(lockPath, owner(sleeper.pid!, '1'))
      const lock = await acquireLock(lockPath, { waitMs: 0 })
      lock.release()
    } finally {
      sleeper.kill('SIGKILL')
    }
  })

  it('waits for a live holder, then refuses naming its pid', async () => {
    const sleeper = spawn('sleep', ['30'])
    try {
      writeFileSync(lockPath, owner(sleeper.pid!, processStartTicks(sleeper.pid!)))
      const started = Date.now()
      const err = await acquireLock(lockPath, { waitMs: 400, pollMs: 50 }).catch((e: unknown) => e)
      expect(Date.now() - started).toBeGreaterThanOrEqual(400)
      expect(err).toBeInstanceOf(CliError)
      expect((err as CliError).exitCode).toBe(1)
      expect((err as CliError).message).toBe(`another update is in progress (pid ${sleeper.pid})`)
      expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(sleeper.pid)
    } finally {
      sleeper.kill('SIGKILL')
    }
  })

  it('gets the lock as soon as the holder releases it', async () => {
    const first = await acquireLock(lockPath)
    setTimeout(() => first.release(), 200)
    const second = await acquireLock(lockPath, { waitMs: 5_000, pollMs: 20 })
    expect(second.waitedMs).toBeGreaterThan(0)
    second.release()
  })

  it('never removes a lock that is not its own', async () => {
    const lock = await acquireLock(lockPath)
    writeFileSync(lockPath, owner(process.pid))
    lock.release()
    expect(existsSync(lockPath)).toBe(true)
  })

  it('lets one taker win a stale lock; the ones after it see it held', async () => {
    writeFileSync(lockPath, owner(await deadPid()))
    const results = Array.from({ length: 8 }, () => tryAcquireLock(lockPath))
    expect(results.filter((r) => 'release' in r)).toHaveLength(1)
  })
})

describe('two updates at once', () => {
  let fx: UpdateFixture
  beforeAll(async () => {
    fx = await startUpdateFixture()
  }, 60_000)
  afterAll(() => fx.close())

  it('never both swap: one installs, the other waits and finds it up to date', async () => {
    await fx.publish({ version: VERSION_B, slowMs: 1500 })
    const h = fx.host()
    const runs = await Promise.all(
      [0, 1].map(() => collect(spawnCco(h.installPath, ['update', '--yes'], { home: h.home }), { timeoutMs: 30_000 })),
    )
    const installed = runs.filter((r) => r.stdout.includes(`✅ Successfully updated to ${VERSION_B}`))
    expect(installed, runs.map(show).join('\n')).toHaveLength(1)
    const other = runs.find((r) => r !== installed[0])!
    // Either it waited and saw the new version, or it gave up waiting: never a second install.
    expect(other.stdout.includes('✅ You are running the latest version') || /another update is in progress \(pid \d+\)/.test(other.stderr), show(other)).toBe(true)
    const log = readFileSync(join(h.stateDir, 'updates.log'), 'utf8')
    expect(log.match(/\] update: /g)).toHaveLength(1)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
    expect(tempDirs(h)).toEqual([])
  })
})
