// The Windows variant of the install protocol (commit.ts, rollback.ts, recover.ts, chosen by
// BinaryFs.platform) under Windows' rules for running executables, enforced on Linux by
// test/support/foreign-fs.ts: a running cco.exe cannot be renamed over or deleted, only renamed
// away. Each install and rollback is also interrupted before every file operation it makes
// (a simulated kill: nothing after it reaches the disk), and the next cco start must leave a
// working binary, both versions where the posix protocol keeps both, and no journal.
// The same variant also runs in real cco processes (CCO_TEST_INSTALL_VARIANT=win32, test builds
// only), SIGKILLed after each named step (CCO_CRASH_AT) and recovered by the next cco command,
// as test/client/crash-recovery.test.ts does for the posix variant; Windows' rules are not
// enforced there, the journal's crash-safety is what it checks.
// What this cannot prove (real NTFS, the Windows loader, antivirus locks) is in foreign-fs.ts;
// .github/workflows/cross-platform.yml runs a real update on windows-latest.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CRASH_POINTS, type CrashPoint } from '../../client/src/system/crash-points.ts'
import { replaceName } from '../../client/src/update/binary-files.ts'
import { commitInstall, manualRestoreCommand } from '../../client/src/update/commit.ts'
import { acquireLock } from '../../client/src/update/lock.ts'
import { recoverInterruptedInstall } from '../../client/src/update/recover.ts'
import { rollbackToBackup } from '../../client/src/update/rollback.ts'
import type { CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { foreignFs, foreignHost, SimulatedCrash, type ForeignFs, type ForeignHost } from '../support/foreign-fs.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const A = '2026.1.1'
const B = '2026.1.2'
const C = '2026.1.3'

async function update(h: ForeignHost, fs: ForeignFs, version: string, o: { broken?: boolean } = {}) {
  const lock = await acquireLock(h.ctx.paths.updateLock)
  try {
    return await commitInstall({ ...h.ctx, binaryFs: fs }, h.prepare(version, o), { kind: 'update', previousVersion: null, lock })
  } finally {
    lock.release()
  }
}

/** install = `installed`, backup = `backup` (null: none), and what runs them says so. */
async function expectInstall(h: ForeignHost, installed: string, backup: string | null, why: string) {
  expect(await h.versionAt(h.installPath), `${why}: cco.exe`).toBe(installed)
  expect(await h.versionAt(h.backupPath), `${why}: cco.backup.exe`).toBe(backup)
}

/** A: cco.exe was updated from A to B while A ran; A still runs (now as cco.backup.exe). */
async function hostAtB(): Promise<{ h: ForeignHost; fs: ForeignFs }> {
  const fs = foreignFs('windows')
  const h = foreignHost(fs)
  h.writeBinary(h.installPath, A)
  fs.markRunning(h.installPath)
  await update(h, fs, B)
  return { h, fs }
}

describe('Windows rules (a running .exe cannot be renamed over or deleted)', () => {
  it('name the PowerShell command for a restore by hand (exit 6), the paths quoted', () => {
    const paths = { home: 'C:/Users/o\'neil', installPath: "C:/Users/o'neil/bin/cco.exe", backupPath: "C:/Users/o'neil/bin/cco.backup.exe" }
    expect(manualRestoreCommand({ paths: paths as never, binaryFs: foreignFs('windows') })).toBe("Copy-Item -Force 'C:/Users/o''neil/bin/cco.backup.exe' 'C:/Users/o''neil/bin/cco.exe'")
    expect(manualRestoreCommand({ paths: { ...paths, home: '/home/o', installPath: '/home/o/.local/bin/cco', backupPath: '/home/o/.local/bin/cco.backup' } as never, binaryFs: foreignFs('macos') })).toBe('cp ~/.local/bin/cco.backup ~/.local/bin/cco')
  })

  it('refuse the posix protocol: the update fails and cco.exe is untouched', async () => {
    // The layer's own check: the same host with the posix variant (hard link, rename over).
    const fs = foreignFs('windows', { platform: 'posix' })
    const h = foreignHost(fs)
    h.writeBinary(h.installPath, A)
    fs.markRunning(h.installPath)
    await expect(update(h, fs, B)).rejects.toThrow(/Failed to install new binary/)
    expect(fs.refusals.some((r) => r.startsWith('rename over'))).toBe(true)
    await expectInstall(h, A, A, 'posix variant refused')
  })

  it('let the Windows variant move the running cco.exe to cco.backup.exe and install the new one', async () => {
    const { h, fs } = await hostAtB()
    expect(fs.refusals).toEqual([])
    await expectInstall(h, B, A, 'A -> B')
    // The running file was moved, not copied: the process's own file is now the backup.
    expect(fs.running.has(`${statSync(h.backupPath).dev}:${statSync(h.backupPath).ino}`)).toBe(true)
    expect(existsSync(h.ctx.paths.installJournal)).toBe(false)
    expect(h.leftovers()).toEqual([])
    expect(readdirSync(join(h.home, 'bin')).sort()).toEqual(['cco.backup.exe', 'cco.exe'])
  })

  it('install over a running cco.backup.exe: it goes to the trash, and the next start removes it once it stopped', async () => {
    const { h, fs } = await hostAtB()
    fs.markRunning(h.installPath) // B runs too (a daemon), A still runs from cco.backup.exe
    await update(h, fs, C)
    await expectInstall(h, C, B, 'B -> C')
    const trash = h.leftovers()
    expect(trash).toHaveLength(1)
    expect(trash[0]).toMatch(/^\.cco-update-trash-cco\.backup\.exe-/)
    expect(readFileSync(join(h.home, 'bin', trash[0]!), 'utf8')).toContain(`cco ${A}`)

    // Next start while A still runs: left alone, nothing fails.
    expect((await recoverInterruptedInstall({ ...h.ctx, binaryFs: foreignFs('windows', { running: fs.running }) })).kind).toBe('nothing')
    expect(h.leftovers()).toEqual(trash)
    // Next start after A stopped: removed.
    expect((await recoverInterruptedInstall({ ...h.ctx, binaryFs: foreignFs('windows') })).kind).toBe('nothing')
    expect(h.leftovers()).toEqual([])
  })

  it('put the previous binary back by copy when the new cco.exe does not run', async () => {
    const { h, fs } = await hostAtB()
    fs.markRunning(h.installPath)
    await expect(update(h, fs, C, { broken: true })).rejects.toThrow(/rolled back/)
    await expectInstall(h, B, B, 'broken C')
    expect(existsSync(h.ctx.paths.installJournal)).toBe(false)
  })

  it('restore cco.exe from cco.backup.exe when the journal is unreadable and cco.exe is missing', async () => {
    const { h } = await hostAtB()
    // Between the two renames of the next install, with a journal that cannot be read.
    renameSync(h.installPath, h.backupPath)
    mkdirSync(dirname(h.ctx.paths.installJournal), { recursive: true })
    writeFileSync(h.ctx.paths.installJournal, '{"format": 1, "phase": "swa')
    const outcome = await recoverInterruptedInstall({ ...h.ctx, binaryFs: foreignFs('windows') })
    expect(outcome.kind).toBe('cleaned')
    await expectInstall(h, B, B, 'corrupt journal')
    expect(existsSync(h.ctx.paths.installJournal)).toBe(false)
  })

  it('keep a working cco.exe when the new binary cannot be renamed into place (an antivirus holding it)', async () => {
    const { h, fs } = await hostAtB()
    fs.markRunning(h.installPath)
    fs.failNext(/^rename .*\.cco-update-[^/]*\/cco\.exe -> .*\/cco\.exe$/)
    await expect(update(h, fs, C)).rejects.toThrow(/Failed to install new binary/)
    await expectInstall(h, B, B, 'rename refused')
    expect(existsSync(h.ctx.paths.installJournal)).toBe(false)
    expect(h.leftovers().filter((n) => !n.startsWith('.cco-update-trash-'))).toEqual([])
  })

  it('move running files aside under names that never collide, however fast one follows another', () => {
    // Each replacement leaves the previous (still running) file in the trash: 50 in a row, far
    // inside one millisecond apiece, must each find a free name.
    const fs = foreignFs('windows')
    const h = foreignHost(fs)
    h.writeBinary(h.installPath, A)
    for (let i = 0; i < 50; i++) {
      fs.markRunning(h.installPath)
      const next = join(dirname(h.installPath), `next-${i}.exe`)
      h.writeBinary(next, B)
      replaceName(next, h.installPath, fs)
    }
    expect(readdirSync(dirname(h.installPath)).filter((n) => n.includes('trash-')).length).toBe(50)
  })

  it('keep both versions when a rollback cannot rename its copy into place', async () => {
    const { h, fs } = await hostAtB()
    fs.markRunning(h.installPath)
    fs.failNext(/^rename .*\.cco-update-[^/]*\/cco\.exe -> .*\/cco\.exe$/)
    await expect(rollbackToBackup({ ...h.ctx, binaryFs: fs })).rejects.toThrow(/Failed to install new binary/)
    await expectInstall(h, B, A, 'rollback rename refused')
    expect(existsSync(h.ctx.paths.installJournal)).toBe(false)
  })

  it('roll back with cco rollback while both binaries run, and back again', async () => {
    const { h, fs } = await hostAtB()
    fs.markRunning(h.installPath)
    await rollbackToBackup({ ...h.ctx, binaryFs: fs })
    await expectInstall(h, A, B, 'rollback')
    fs.markRunning(h.installPath)
    await rollbackToBackup({ ...h.ctx, binaryFs: fs })
    await expectInstall(h, B, A, 'rollback twice')
    expect(fs.refusals.filter((r) => !r.startsWith('delete'))).toEqual([])
  })
})

/** Runs `run` with a crash before its n-th file operation, for n = 1, 2, … until one finishes. */
async function everyCrash(
  name: string,
  setup: () => Promise<{ h: ForeignHost; fs: ForeignFs }>,
  run: (h: ForeignHost, fs: ForeignFs) => Promise<unknown>,
  check: (h: ForeignHost, why: string) => Promise<void>,
): Promise<number> {
  for (let n = 1; ; n++) {
    const { h, fs } = await setup()
    const before = fs.ops.length
    fs.crashBefore(n)
    try {
      await run(h, fs)
    } catch (err) {
      if (!(err instanceof SimulatedCrash) && !fs.crashed) throw err
    }
    if (!fs.crashed) return n - 1
    const why = `${name}, killed before operation ${n} (done: ${fs.ops.slice(before).join('; ') || 'none'})`
    // The binaries that ran keep running (a daemon); the next cco start recovers.
    const next = foreignFs('windows', { running: fs.running })
    const outcome = await recoverInterruptedInstall({ ...h.ctx, binaryFs: next })
    expect(outcome.kind, why).not.toBe('failed')
    expect(existsSync(h.ctx.paths.installJournal), why).toBe(false)
    await check(h, why)
    // Only binaries still running may be left (in the trash), never a temp dir.
    for (const name of h.leftovers()) {
      expect(name, why).toMatch(/^\.cco-update-trash-/)
      const st = statSync(join(h.home, 'bin', name))
      expect(next.running.has(`${st.dev}:${st.ino}`), `${why}: ${name} is not running`).toBe(true)
    }
  }
}

describe('Windows variant killed before every file operation', () => {
  it('an update B -> C (cco.exe and cco.backup.exe both running) always recovers to a working cco.exe', async () => {
    const ops = await everyCrash(
      'update B -> C',
      async () => {
        const at = await hostAtB()
        at.fs.markRunning(at.h.installPath)
        return at
      },
      (h, fs) => update(h, fs, C),
      async (h, why) => {
        const installed = await h.versionAt(h.installPath)
        expect([B, C], why).toContain(installed)
        // C installed: B is its backup. B still installed: the backup is A, B itself, or none
        // (killed right after the old cco.backup.exe went to the trash: it was to be replaced).
        if (installed === C) expect(await h.versionAt(h.backupPath), why).toBe(B)
        else expect([A, B, null], why).toContain(await h.versionAt(h.backupPath))
      },
    )
    // trash the old backup, try to delete it, move cco.exe aside, the new one in, the temp dir.
    expect(ops).toBe(5)
  })

  it('a first update A -> B (nothing at cco.backup.exe) always recovers', async () => {
    const ops = await everyCrash(
      'update A -> B',
      async () => {
        const fs = foreignFs('windows')
        const h = foreignHost(fs)
        h.writeBinary(h.installPath, A)
        fs.markRunning(h.installPath)
        return { h, fs }
      },
      (h, fs) => update(h, fs, B),
      async (h, why) => {
        const installed = await h.versionAt(h.installPath)
        expect([A, B], why).toContain(installed)
        if (installed === B) expect(await h.versionAt(h.backupPath), why).toBe(A)
      },
    )
    expect(ops).toBe(3)
  })

  it('cco rollback (both running) always recovers with both versions kept', async () => {
    const ops = await everyCrash(
      'rollback B -> A',
      async () => {
        const at = await hostAtB()
        at.fs.markRunning(at.h.installPath)
        return at
      },
      (h, fs) => rollbackToBackup({ ...h.ctx, binaryFs: fs }),
      async (h, why) => {
        const installed = await h.versionAt(h.installPath)
        expect([A, B], why).toContain(installed)
        expect(await h.versionAt(h.backupPath), why).toBe(installed === A ? B : A)
      },
    )
    expect(ops).toBe(6)
  })
})

describe('the Windows variant in real processes, SIGKILLed after each step', () => {
  let fx: UpdateFixture
  beforeAll(async () => {
    fx = await startUpdateFixture()
    await fx.publish({ version: VERSION_B })
  }, 60_000)
  afterAll(() => fx?.close())

  const WIN = { CCO_TEST_INSTALL_VARIANT: 'win32' }
  const versionOf = async (h: CcoHome, path: string) => /^cco (\S+)\n$/.exec((await runCco(path, ['--version'], { home: h.home })).stdout)?.[1] ?? null
  const expectPair = async (h: CcoHome, installed: string, backup: string | null, why: string) => {
    expect(await versionOf(h, h.installPath), `${why}: cco`).toBe(installed)
    expect(existsSync(h.backupPath) ? await versionOf(h, h.backupPath) : null, `${why}: cco.backup`).toBe(backup)
  }
  const AFTER_SWAP = new Set<CrashPoint>(['swapped', 'installed-verified', 'recorded'])
  /**
   * The next cco command: the installed one, or, when a kill between the two renames left
   * none, cco.backup run as a single executable runs (its own path as the install path).
   */
  const nextStart = (h: CcoHome, args: string[]) =>
    existsSync(h.installPath) ? fx.run(h, args, { env: WIN }) : runCco(h.backupPath, args, { home: h.home, env: { ...WIN, CCO_INSTALL_PATH: h.backupPath } })

  it('CCO_TEST_INSTALL_VARIANT=win32 makes a test build rename cco away instead of linking it', async () => {
    // With the posix variant both names are one file before the swap; here cco is gone.
    const h = fx.host()
    const before = statSync(h.installPath).ino
    const r = await fx.run(h, ['update', '--yes'], { env: { ...WIN, CCO_CRASH_AT: 'backup-written' } })
    expect(r.signal, show(r)).toBe('SIGKILL')
    expect(existsSync(h.installPath)).toBe(false)
    expect(statSync(h.backupPath).ino).toBe(before)
  })

  describe.concurrent('cco update', () => {
    for (const step of CRASH_POINTS) {
      it(`recovers from SIGKILL after "${step}"`, async () => {
        const h = fx.host()
        const killed = await fx.run(h, ['update', '--yes'], { env: { ...WIN, CCO_CRASH_AT: step } })
        expect(killed.signal, show(killed)).toBe('SIGKILL')
        const next = await nextStart(h, ['config', 'get', 'updates.channel'])
        expect(next.code, show(next)).toBe(0)
        expect(existsSync(h.journal)).toBe(false)
        expect(tempDirs(h)).toEqual([])
        const swapped = AFTER_SWAP.has(step)
        // Killed with cco renamed to cco.backup and the new one not yet in place: restored.
        const backup = swapped || step === 'backup-written' ? VERSION_A : null
        await expectPair(h, swapped ? VERSION_B : VERSION_A, backup, `after "${step}" and recovery`)
        const again = await fx.run(h, ['update', '--yes'], { env: WIN })
        expect(again.code, show(again)).toBe(0)
        await expectPair(h, VERSION_B, VERSION_A, `after "${step}", recovery and a second update`)
      })
    }
  })

  describe.concurrent('cco rollback', () => {
    const steps = CRASH_POINTS.filter((s) => s === 'lock-acquired' || CRASH_POINTS.indexOf(s) >= CRASH_POINTS.indexOf('journal-written'))
    for (const step of steps) {
      it(`recovers from SIGKILL after "${step}" with both versions kept`, async () => {
        const h = fx.host()
        expect((await fx.run(h, ['update', '--yes'], { env: WIN })).code).toBe(0)
        const killed = await fx.run(h, ['rollback'], { env: { ...WIN, CCO_CRASH_AT: step } })
        expect(killed.signal, show(killed)).toBe('SIGKILL')
        const next = await nextStart(h, ['version'])
        expect(next.code, show(next)).toBe(0)
        expect(existsSync(h.journal)).toBe(false)
        expect(tempDirs(h)).toEqual([])
        const swapped = AFTER_SWAP.has(step)
        await expectPair(h, swapped ? VERSION_A : VERSION_B, swapped ? VERSION_B : VERSION_A, `after "${step}" and recovery`)
      })
    }
  })
})
