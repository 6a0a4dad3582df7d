// SIGKILL at every step of the install protocol (CCO_CRASH_AT, real child processes): the
// install path always runs the old or the new version, and the next cco run finishes or
// undoes the journal, leaving no temp files; a later update then succeeds.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CRASH_POINTS, type CrashPoint } from '../../client/src/system/crash-points.ts'
import type { CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let fx: UpdateFixture
beforeAll(async () => {
  fx = await startUpdateFixture()
  await fx.publish({ version: VERSION_B })
}, 60_000)
afterAll(() => fx.close())

async function installedVersion(h: CcoHome): Promise<string | undefined> {
  const r = await runCco(h.installPath, ['--version'], { home: h.home })
  return /^cco (\S+)\n$/.exec(r.stdout)?.[1]
}

/** Steps after which the new binary is already at the install path. */
const AFTER_SWAP = new Set<CrashPoint>(['swapped', 'installed-verified', 'recorded'])

/**
 * The install directory holds exactly these binaries (`null`: no cco.backup), byte for byte,
 * and nothing else: no temp dir, no half-written copy.
 */
function expectBinaries(h: CcoHome, installed: string, backup: string | null, why: string): void {
  expect(readdirSync(h.binDir).sort(), why).toEqual(backup === null ? ['cco'] : ['cco', 'cco.backup'])
  expect(readFileSync(h.installPath).equals(readFileSync(fx.bundles[installed]!)), `${why}: cco is not ${installed}`).toBe(true)
  if (backup !== null) expect(readFileSync(h.backupPath).equals(readFileSync(fx.bundles[backup]!)), `${why}: cco.backup is not ${backup}`).toBe(true)
}

describe.concurrent('an update killed at each step', () => {
  for (const step of CRASH_POINTS) {
    it(`recovers from SIGKILL after "${step}"`, async () => {
      const h = fx.host()
      const killed = await fx.run(h, ['update', '--yes'], { env: { CCO_CRASH_AT: step } })
      expect(killed.signal, show(killed)).toBe('SIGKILL')

      // Right after the crash the install path runs one of the two versions, never nothing.
      const expected = AFTER_SWAP.has(step) ? VERSION_B : VERSION_A
      expect(await installedVersion(h)).toBe(expected)

      // Any next cco command settles the journal first.
      const next = await fx.run(h, ['config', 'get', 'updates.channel'])
      expect(next.code, show(next)).toBe(0)
      expect(next.stdout).toBe('updates.channel = stable\n')
      expect(existsSync(h.journal)).toBe(false)
      expect(tempDirs(h)).toEqual([])
      expect(await installedVersion(h)).toBe(expected)
      // cco.backup is written (a copy of A) right before the swap; A is never lost.
      const backup = AFTER_SWAP.has(step) || step === 'backup-written' ? VERSION_A : null
      expectBinaries(h, expected, backup, `after "${step}" and recovery`)
      if (AFTER_SWAP.has(step)) {
        expect((await fx.run(h, ['config', 'get', 'updates.last_update'])).stdout).not.toContain('Never')
      }

      // The stale update lock of the dead process does not block the next update.
      const again = await fx.run(h, ['update', '--yes'])
      expect(again.code, show(again)).toBe(0)
      expect(existsSync(h.journal)).toBe(false)
      expectBinaries(h, VERSION_B, VERSION_A, `after "${step}", recovery and a second update`)
    })
  }
})

describe.concurrent('a rollback killed at each step of the swap', () => {
  // The steps a rollback passes (it takes the lock, then the same commit as an update).
  const steps = CRASH_POINTS.filter((s) => s === 'lock-acquired' || CRASH_POINTS.indexOf(s) >= CRASH_POINTS.indexOf('journal-written'))
  for (const step of steps) {
    it(`recovers from SIGKILL after "${step}" with both versions kept`, async () => {
      const h = fx.host()
      expect((await fx.run(h, ['update', '--yes'])).code).toBe(0)
      const killed = await fx.run(h, ['rollback'], { env: { CCO_CRASH_AT: step } })
      expect(killed.signal, show(killed)).toBe('SIGKILL')
      const swapped = AFTER_SWAP.has(step)
      const expected = swapped ? VERSION_A : VERSION_B
      expect(await installedVersion(h)).toBe(expected)
      const next = await fx.run(h, ['version'])
      expect(next.code, show(next)).toBe(0)
      expect(existsSync(h.journal)).toBe(false)
      expect(tempDirs(h)).toEqual([])
      expect(await installedVersion(h)).toBe(expected)
      // Finished or undone, the swap keeps both versions: the other one is cco.backup.
      expectBinaries(h, expected, swapped ? VERSION_B : VERSION_A, `after "${step}" and recovery`)
      // So a rollback still goes to the other version.
      const back = await fx.run(h, ['rollback'])
      expect(back.code, show(back)).toBe(0)
      expectBinaries(h, swapped ? VERSION_B : VERSION_A, expected, `after "${step}", recovery and a rollback`)
    })
  }
})

describe('release builds', () => {
  it('ignore CCO_CRASH_AT: the update runs to the end', async () => {
    const release = await clientBundle({ version: VERSION_A, build: 'release' })
    const h = fx.host({ installed: readFileSync(release) })
    const r = await fx.run(h, ['update', '--yes'], { env: { CCO_CRASH_AT: 'lock-acquired' } })
    expect(r.signal, show(r)).toBe(null)
    expect(r.code, show(r)).toBe(0)
    expect(await installedVersion(h)).toBe(VERSION_B)
    expect(readFileSync(h.backupPath).equals(readFileSync(release))).toBe(true)
  })
})

describe('journal edge cases', () => {
  it('leaves the journal of another install path alone (a command run from cco.backup)', async () => {
    const h = fx.host()
    expect((await fx.run(h, ['update', '--yes'])).code).toBe(0)
    // A rollback killed after cco.backup was rewritten: its temp dir holds the only copy of A.
    const killed = await fx.run(h, ['rollback'], { env: { CCO_CRASH_AT: 'backup-written' } })
    expect(killed.signal, show(killed)).toBe('SIGKILL')
    const journal = readFileSync(h.journal, 'utf8')
    const temps = tempDirs(h)
    expect(temps).toHaveLength(1)

    // A single executable takes its own path as the install path: what cco.backup sees.
    const other = await runCco(h.backupPath, ['version'], { home: h.home, env: { CCO_INSTALL_PATH: h.backupPath } })
    expect(other.code, show(other)).toBe(0)
    expect(readFileSync(h.journal, 'utf8')).toBe(journal)
    expect(tempDirs(h)).toEqual(temps)

    // The installed cco then settles it without losing either version.
    const next = await fx.run(h, ['version'])
    expect(next.code, show(next)).toBe(0)
    expect(existsSync(h.journal)).toBe(false)
    expectBinaries(h, VERSION_B, VERSION_A, 'after the recovery by the installed cco')
  })

  it('removes an unreadable journal with a warning and carries on', async () => {
    const h = fx.host()
    mkdirSync(h.stateDir, { recursive: true })
    writeFileSync(h.journal, '{"format": 1, "phase": "swa')
    const r = await fx.run(h, ['version'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stderr).toMatch(/removed an unreadable install journal/)
    expect(existsSync(h.journal)).toBe(false)
    expect(await installedVersion(h)).toBe(VERSION_A)
  })

  it('leaves the journal of an update that is still running alone', async () => {
    const h = fx.host()
    mkdirSync(h.stateDir, { recursive: true })
    // A live process holds the update lock and has a journal.
    const { spawn } = await import('node:child_process')
    const sleeper = spawn('sleep', ['30'])
    try {
      writeFileSync(join(h.stateDir, 'update.lock'), JSON.stringify({ pid: sleeper.pid, start_ticks: null, started_at: new Date().toISOString(), host: (await import('node:os')).hostname(), token: 'x' }))
      const journal = JSON.stringify({
        format: 1, kind: 'update', phase: 'preparing', pid: sleeper.pid, started_at: new Date().toISOString(),
        install_path: h.installPath, backup_path: h.backupPath, temp_dir: join(h.binDir, '.cco-update-live'),
        new_binary: null, expected_version: VERSION_B, new_sha256: null, previous_sha256: null, previous_version: VERSION_A,
      })
      writeFileSync(h.journal, journal)
      const r = await fx.run(h, ['version'])
      expect(r.code, show(r)).toBe(0)
      expect(readFileSync(h.journal, 'utf8')).toBe(journal)
    } finally {
      sleeper.kill('SIGKILL')
    }
  })
})
