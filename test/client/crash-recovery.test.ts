// SIGKILL at every step of the install protocol (CCO_CRASH_AT, real child processes): the
// install path always runs the old or the new version, and the next cco run finishes or
// undoes the journal, leaving no temp files; a later update then succeeds.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CRASH_POINTS, type CrashPoint } from '../../client/src/system/crash-points.ts'
import type { CcoHome } from '../support/cco-home.ts'
import { runCco, show } from '../support/cco-process.ts'
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
      if (AFTER_SWAP.has(step)) {
        expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
        expect((await fx.run(h, ['config', 'get', 'updates.last_update'])).stdout).not.toContain('Never')
      }

      // The stale update lock of the dead process does not block the next update.
      const again = await fx.run(h, ['update', '--yes'])
      expect(again.code, show(again)).toBe(0)
      expect(await installedVersion(h)).toBe(VERSION_B)
      expect(tempDirs(h)).toEqual([])
      expect(existsSync(h.journal)).toBe(false)
    })
  }
})

describe.concurrent('a rollback killed at each step of the swap', () => {
  const steps: CrashPoint[] = ['journal-written', 'backup-written', 'swapped', 'installed-verified']
  for (const step of steps) {
    it(`recovers from SIGKILL after "${step}"`, async () => {
      const h = fx.host()
      expect((await fx.run(h, ['update', '--yes'])).code).toBe(0)
      const killed = await fx.run(h, ['rollback'], { env: { CCO_CRASH_AT: step } })
      expect(killed.signal, show(killed)).toBe('SIGKILL')
      const expected = step === 'swapped' || step === 'installed-verified' ? VERSION_A : VERSION_B
      expect(await installedVersion(h)).toBe(expected)
      const next = await fx.run(h, ['version'])
      expect(next.code, show(next)).toBe(0)
      expect(existsSync(h.journal)).toBe(false)
      expect(tempDirs(h)).toEqual([])
      expect(await installedVersion(h)).toBe(expected)
    })
  }
})

describe('journal edge cases', () => {
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
