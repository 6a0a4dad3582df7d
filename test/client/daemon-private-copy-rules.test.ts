// The rules of the daemon's private copy that need no single executable: which leftover copies a
// start or `cco daemon stop` removes (real processes: a dead pid, a pid that now runs another
// program), and that the install path a copy is told is believed only inside a copy.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { asInstalledDaemon, INSTALL_PATH_ENV, runDir, runsFromPrivateCopy, sweepStaleCopies } from '../../client/src/daemon/private-copy.ts'
import { testApp } from '../support/app-context.ts'

const homes: string[] = []
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })))

function home(): string {
  const h = mkdtempSync(join(tmpdir(), 'cco-copy-rules-'))
  homes.push(h)
  return h
}

describe('leftover private copies', () => {
  it("removes a dead daemon's copy and one whose pid now runs another program, and keeps the asker's own and files of other names", async () => {
    const app = testApp(home())
    const dir = runDir(app.paths)
    mkdirSync(dir, { recursive: true })
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      await new Promise((r) => sleeper.once('spawn', r))
      const names = [`cco-2026.1.1-${dead}`, `cco-2026.1.1-${sleeper.pid}`, `cco-2026.1.1-${process.pid}`, 'notes.txt', 'cco-without-pid']
      for (const n of names) writeFileSync(join(dir, n), 'x')
      const removed = sweepStaleCopies(app.paths, { except: process.pid })
      expect(removed.sort()).toEqual([join(dir, `cco-2026.1.1-${dead}`), join(dir, `cco-2026.1.1-${sleeper.pid}`)].sort())
      expect(readdirSync(dir).sort()).toEqual([`cco-2026.1.1-${process.pid}`, 'cco-without-pid', 'notes.txt'])
    } finally {
      sleeper.kill()
    }
  })

  it('keeps the copy of a live pid that runs cco from elsewhere (a daemon still making its copy runs from the install path)', async () => {
    const h = home()
    const app = testApp(h)
    const dir = runDir(app.paths)
    mkdirSync(dir, { recursive: true })
    // A program installed as cco (here: sleep under that name) stands for a starting daemon.
    const installed = join(h, 'cco')
    copyFileSync('/bin/sleep', installed)
    chmodSync(installed, 0o755)
    const starting = spawn(installed, ['30'], { stdio: 'ignore' })
    try {
      await new Promise((r) => starting.once('spawn', r))
      writeFileSync(join(dir, `cco-2026.1.1-${starting.pid}`), 'x')
      expect(sweepStaleCopies(app.paths)).toEqual([])
      expect(existsSync(join(dir, `cco-2026.1.1-${starting.pid}`))).toBe(true)
    } finally {
      starting.kill()
    }
  })

  it('does nothing without a run directory', () => {
    expect(sweepStaleCopies(testApp(home()).paths)).toEqual([])
  })
})

describe('the install path a copy stands for', () => {
  it('is believed only by a single executable running from the run directory', () => {
    const app = testApp(home(), { env: { [INSTALL_PATH_ENV]: '/elsewhere/cco' } })
    const copy = join(runDir(app.paths), `cco-2026.1.1-${process.pid}`)
    expect(runsFromPrivateCopy(app.paths, { sea: true, execPath: copy })).toBe(true)
    expect(runsFromPrivateCopy(app.paths, { sea: false, execPath: copy })).toBe(false)
    expect(runsFromPrivateCopy(app.paths, { sea: true, execPath: join(runDir(app.paths), 'cco') })).toBe(false)
    expect(runsFromPrivateCopy(app.paths, { sea: true, execPath: app.paths.installPath })).toBe(false)
    // This process is not a copy: the variable changes nothing.
    const seen = asInstalledDaemon(app)
    expect(seen.paths.installPath).toBe(app.paths.installPath)
    expect(seen.paths.installPath).not.toBe('/elsewhere/cco')
  })
})
