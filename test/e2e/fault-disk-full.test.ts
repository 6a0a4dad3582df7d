// Disk full, with a real size cap: `cco update --yes` runs under RLIMIT_FSIZE (`ulimit -f`,
// with SIGXFSZ ignored so that a write past the cap fails with EFBIG instead of killing the
// process). The cap is placed so that each write of the install protocol in turn is the one
// that fails: the download, the extracted binary, the backup copy. Each time the update fails
// cleanly: non-zero exit, a message naming the write error, the install path still A, no temp
// dir, no journal.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CcoHome } from '../../support/cco-home.ts'
import { runCco, show, type CcoRun } from '../../support/cco-process.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let fx: UpdateFixture
let archiveSize: number
let binarySize: number
beforeAll(async () => {
  fx = await startUpdateFixture()
  archiveSize = (await fx.publish({ version: VERSION_B })).archive.length
  binarySize = statSync(fx.bundles[VERSION_B]!).size
}, 60_000)
afterAll(() => fx.close())

/** `cco update --yes` with files capped at `bytes` (dash counts ulimit -f in 512-byte blocks). */
function updateCapped(h: CcoHome, bytes: number): Promise<CcoRun> {
  const blocks = Math.floor(bytes / 512)
  const script = `trap '' XFSZ; ulimit -f ${blocks} || exit 99; exec "$0" "$@"`
  return runCco('/bin/sh', ['-c', script, h.installPath, 'update', '--yes'], { home: h.home })
}

async function versionOf(h: CcoHome): Promise<string | undefined> {
  return /^cco (\S+)\n$/.exec((await fx.run(h, ['--version'])).stdout)?.[1]
}

async function expectCleanFailure(h: CcoHome, r: CcoRun, installed: Buffer): Promise<void> {
  expect(r.code, show(r)).not.toBe(0)
  expect(r.code, show(r)).not.toBe(99)
  expect(r.signal, show(r)).toBeNull()
  expect(r.stderr, show(r)).toMatch(/EFBIG|file too large/i)
  expect(readFileSync(h.installPath)).toEqual(installed)
  expect(await versionOf(h)).toBe(VERSION_A)
  expect(tempDirs(h)).toEqual([])
  expect(existsSync(h.journal)).toBe(false)
}

describe.concurrent('an update on a full disk (RLIMIT_FSIZE)', () => {
  it('fails cleanly when the download cannot be written', async () => {
    const h = fx.host()
    const r = await updateCapped(h, Math.floor(archiveSize / 2))
    expect(r.stderr).toMatch(/^Failed to install new binary: cannot write \S+\/\.cco-update-\w+\/archive\.tar\.gz: EFBIG/m)
    expect(r.code, show(r)).toBe(1)
    await expectCleanFailure(h, r, readFileSync(fx.bundles[VERSION_A]!))
  })

  it('fails cleanly when the extracted binary cannot be written', async () => {
    expect(archiveSize).toBeLessThan(binarySize / 2)
    const h = fx.host()
    const r = await updateCapped(h, Math.floor((archiveSize + binarySize) / 2))
    expect(r.stderr).toMatch(/^Failed to install new binary: cannot write \S+\/\.cco-update-\w+\/cco: EFBIG/m)
    expect(r.code, show(r)).toBe(1)
    await expectCleanFailure(h, r, readFileSync(fx.bundles[VERSION_A]!))
  })

  it('keeps a current binary larger than the cap as the backup (a hard link writes no bytes)', async () => {
    // The installed A is larger than the cap (a bundle with a long trailing comment); B fits.
    // cco.backup is a hard link to it (client README, step 5), so the cap cannot stop it.
    const big = Buffer.concat([readFileSync(fx.bundles[VERSION_A]!), Buffer.from(`\n//${'x'.repeat(binarySize)}\n`)])
    const h = fx.host({ installed: big })
    expect(await versionOf(h)).toBe(VERSION_A)
    const r = await updateCapped(h, binarySize + 64 * 1024)
    expect(r.code, show(r)).toBe(0)
    expect(await versionOf(h)).toBe(VERSION_B)
    expect(readFileSync(h.backupPath)).toEqual(big)
  })

  it('then succeeds once there is room', async () => {
    const h = fx.host()
    expect((await updateCapped(h, Math.floor(archiveSize / 2))).code).not.toBe(0)
    const r = await updateCapped(h, 4 * binarySize)
    expect(r.code, show(r)).toBe(0)
    expect(await versionOf(h)).toBe(VERSION_B)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
  })
})
