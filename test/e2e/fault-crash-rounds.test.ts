// Kills with real processes, repeatedly: `cco update --yes` SIGKILLed after every step of the
// install protocol (CCO_CRASH_AT), three rounds per step on one host, with the next cco run
// recovering in between (a separate command, or the next update itself); and killed with an
// external `kill -9` at random moments of a slow download. After every kill the install path
// runs A or B, never nothing; at the end B is installed, cco.backup runs A, and no temp dir
// or journal is left.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CRASH_POINTS, type CrashPoint } from '../../client/src/system/crash-points.ts'
import type { CcoHome } from '../../support/cco-home.ts'
import { collect, runCco, show, spawnCco, type CcoRun } from '../../support/cco-process.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const ROUNDS = 3
/** Steps after which the new binary is already at the install path. */
const AFTER_SWAP = new Set<CrashPoint>(['swapped', 'installed-verified', 'recorded'])

let fx: UpdateFixture
/**
 * Node's compile cache for every cco started here (and the `--version` probes it starts):
 * roughly halves the cost of loading the bundle, which dominates this file's runtime. It
 * caches compiled code only; cco's behaviour does not depend on it.
 */
let compileCache: string
beforeAll(async () => {
  compileCache = mkdtempSync(join(tmpdir(), 'cco-fault-compile-cache-'))
  fx = await startUpdateFixture()
  await fx.publish({ version: VERSION_B })
}, 60_000)
afterAll(async () => {
  await fx.close()
  rmSync(compileCache, { recursive: true, force: true })
})

function cco(f: UpdateFixture, h: CcoHome, args: string[], env: Record<string, string> = {}): Promise<CcoRun> {
  return f.run(h, args, { env: { NODE_COMPILE_CACHE: compileCache, ...env }, timeoutMs: 60_000 })
}

async function versionAt(path: string, h: CcoHome): Promise<string | undefined> {
  const r = await runCco(path, ['--version'], { home: h.home, env: { NODE_COMPILE_CACHE: compileCache } })
  return /^cco (\S+)\n$/.exec(r.stdout)?.[1]
}

const bytesOf = (version: string) => readFileSync(fx.bundles[version]!)

/** The host is settled: no journal, no temp dir, and the install path holds `version`'s binary. */
function expectSettled(h: CcoHome, version: string, why: string): void {
  expect(existsSync(h.journal), `journal left (${why})`).toBe(false)
  expect(tempDirs(h), `temp dir left (${why})`).toEqual([])
  expect(readFileSync(h.installPath).equals(bytesOf(version)), `${why}: the install path is not ${version}`).toBe(true)
}

describe.concurrent('an update SIGKILLed after each step, round after round', () => {
  for (const step of CRASH_POINTS) {
    it(`survives ${ROUNDS} kills after "${step}" and then installs B`, async () => {
      const h = fx.host()
      const expected = AFTER_SWAP.has(step) ? VERSION_B : VERSION_A
      for (let round = 1; round <= ROUNDS; round++) {
        const why = `${step}, round ${round}`
        // A kill after the swap completes the update; go back to A so that this round can
        // kill the same step again (the rollback's own start finishes any pending journal).
        if (readFileSync(h.installPath).equals(bytesOf(VERSION_B))) {
          const back = await cco(fx, h, ['rollback'])
          expect(back.code, `${why}: ${show(back)}`).toBe(0)
          expectSettled(h, VERSION_A, `${why}, after the rollback`)
        }

        const killed = await cco(fx, h, ['update', '--yes'], { CCO_CRASH_AT: step })
        expect(killed.signal, `${why}: ${show(killed)}`).toBe('SIGKILL')
        // Never a host without a working cco: old or new, exactly as far as the swap got.
        expect(await versionAt(h.installPath, h), why).toBe(expected)

        // Round 2 leaves the recovery to the next update itself (which recovers, then dies again).
        if (round !== 2) {
          const next = await cco(fx, h, ['config', 'get', 'updates.channel'])
          expect(next.code, `${why}: ${show(next)}`).toBe(0)
          expect(next.stdout).toBe('updates.channel = stable\n')
          expectSettled(h, expected, `${why}, after recovery`)
        }
      }

      // Retried until it succeeds: once is enough, the stale lock and journal are handled.
      const done = await cco(fx, h, ['update', '--yes'])
      expect(done.code, `${step}, final update: ${show(done)}`).toBe(0)
      expectSettled(h, VERSION_B, `${step}, final`)
      expect(await versionAt(h.installPath, h)).toBe(VERSION_B)
      expect(await versionAt(h.backupPath, h)).toBe(VERSION_A)
    }, 120_000)
  }
})

/** mulberry32: reproducible kill moments from a seed printed with every failure. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('an update killed by an external kill -9 during a slow download', () => {
  const SLOW_MS = 1500
  const KILLS = 3
  const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31))
  let slow: UpdateFixture
  beforeAll(async () => {
    slow = await startUpdateFixture()
    // The server trickles the archive in ten parts over SLOW_MS.
    await slow.publish({ version: VERSION_B, slowMs: SLOW_MS })
  }, 60_000)
  afterAll(() => slow.close())

  it(`keeps a working cco through ${KILLS} kills at random moments (FAULT_SEED=${seed})`, async () => {
    const next = random(seed)
    const h = slow.host()
    for (let k = 1; k <= KILLS; k++) {
      const why = `kill ${k} (FAULT_SEED=${seed})`
      const before = slow.server.requests.length
      const child = spawnCco(h.installPath, ['update', '--yes'], { home: h.home, env: { NODE_COMPILE_CACHE: compileCache } })
      const run = collect(child, { timeoutMs: 60_000 })
      // Wait for the download to start, then pick a moment within it.
      const deadline = Date.now() + 20_000
      while (!slow.server.requests.slice(before).some((r) => r.path.startsWith('/download/'))) {
        if (Date.now() > deadline) throw new Error(`${why}: the download never started`)
        await new Promise((r) => setTimeout(r, 10))
      }
      const delay = Math.floor(next() * SLOW_MS)
      await new Promise((r) => setTimeout(r, delay))
      child.kill('SIGKILL')
      const killed = await run
      if (killed.signal !== 'SIGKILL') {
        // It finished before the kill landed (a late moment on a fast machine): fine, but then
        // B is installed; go back to A for the next kill.
        expect(killed.code, `${why} after ${delay} ms: ${show(killed)}`).toBe(0)
        expect((await cco(slow, h, ['rollback'])).code).toBe(0)
      }
      const v = await versionAt(h.installPath, h)
      expect([VERSION_A, VERSION_B], `${why} after ${delay} ms`).toContain(v)

      const recovered = await cco(slow, h, ['version'])
      expect(recovered.code, `${why}: ${show(recovered)}`).toBe(0)
      expectSettled(h, v!, `${why} after ${delay} ms, after recovery`)
      if (v === VERSION_B) expect((await cco(slow, h, ['rollback'])).code).toBe(0)
    }
    const done = await cco(slow, h, ['update', '--yes'])
    expect(done.code, show(done)).toBe(0)
    expectSettled(h, VERSION_B, 'final')
    expect(await versionAt(h.backupPath, h)).toBe(VERSION_A)
  }, 120_000)
})
