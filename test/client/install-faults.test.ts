// Install faults with real processes: a new binary that fails its self-test, a read-only
// install directory, a binary that breaks once installed (automatic rollback, exit 5) and a
// rollback that fails too (exit 6 with the manual command). The host always keeps a working cco.
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'
import { otherUserSkip } from '../support/other-users.ts'

let fx: UpdateFixture
beforeAll(async () => {
  fx = await startUpdateFixture()
}, 60_000)
afterAll(() => fx.close())

const script = (body: string) => Buffer.from(`#!/bin/sh\n${body}\n`)
const versionOf = async (h: CcoHome) => /^cco (\S+)/.exec((await fx.run(h, ['--version'])).stdout)?.[1]

function untouched(h: CcoHome): void {
  expect(readFileSync(h.installPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
  expect(tempDirs(h)).toEqual([])
  expect(existsSync(h.journal)).toBe(false)
}

describe('before the swap', () => {
  it('refuses a new binary whose --version exits non-zero', async () => {
    await fx.publish({ version: VERSION_B, binary: script('exit 3') })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toMatch(/^New binary verification failed: .*exited with status 3/m)
    untouched(h)
    expect(existsSync(h.backupPath)).toBe(false)
  })

  it('refuses a new binary that reports another version', async () => {
    await fx.publish({ version: VERSION_B, binary: script('echo "cco 9.9.9"') })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toMatch(/^New binary verification failed: it reports version 9\.9\.9, the manifest says 2026\.1\.2/m)
    untouched(h)
  })

  it('refuses a tampered archive with exit 4 and leaves nothing behind', async () => {
    const { archive } = await fx.publish({ version: VERSION_B })
    const bad = Buffer.from(archive)
    bad.writeUInt8(bad.readUInt8(100) ^ 1, 100)
    await fx.publish({ version: VERSION_B, serveInstead: bad })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(4)
    expect(r.stderr).toMatch(/^Checksum verification failed/m)
    untouched(h)
  })

  it.skipIf(process.getuid?.() === 0 && otherUserSkip() !== null)(`fails clearly on a read-only install directory and keeps the old binary${process.getuid?.() === 0 && otherUserSkip() ? ` (skipped: ${otherUserSkip()})` : ''}`, async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    // Root ignores directory permissions, so run cco as an unprivileged user then.
    const asRoot = process.getuid?.() === 0
    const user = asRoot ? { uid: 65534, gid: 65534 } : {}
    if (asRoot) chownTree(h.home, 65534)
    chmodSync(h.binDir, 0o555)
    try {
      const r = await runCco(h.installPath, ['update', '--yes'], { home: h.home, ...user })
      expect(r.code, show(r)).toBe(1)
      expect(r.stderr).toMatch(/^Failed to install new binary: .*\.local\/bin is not writable \(EACCES\)/m)
    } finally {
      chmodSync(h.binDir, 0o755)
    }
    untouched(h)
  })
})

function chownTree(path: string, id: number): void {
  chownSync(path, id, id)
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name)
    if (e.isDirectory()) chownTree(p, id)
    else chownSync(p, id, id)
  }
}

describe('after the swap', () => {
  it('rolls back automatically when the installed binary fails its check (exit 5)', async () => {
    // Works where it was prepared, fails once it sits at the install path.
    await fx.publish({ version: VERSION_B, binary: script(`case "$0" in */.cco-update-*) echo "cco ${VERSION_B}";; *) exit 1;; esac`) })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(5)
    const warn = r.stderr.indexOf('⚠️  New binary verification failed, rolling back...')
    const failed = r.stderr.indexOf('Update failed, rolled back to previous version')
    expect(warn).toBeGreaterThanOrEqual(0)
    expect(failed).toBeGreaterThan(warn)
    untouched(h)
    expect(await versionOf(h)).toBe(VERSION_A)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
  })

  it('prints the exact manual command when the rollback fails too (exit 6)', async () => {
    // The installed "cco" stops working once the new one has run at the install path.
    const old = script(`[ -e "$HOME/broken" ] && exit 1\necho "cco ${VERSION_A}"`)
    const broken = script(`case "$0" in */.cco-update-*) echo "cco ${VERSION_B}";; *) touch "$HOME/broken"; exit 1;; esac`)
    await fx.publish({ version: VERSION_B, binary: broken })
    const h = fx.host({ installed: old })
    // The updater is a real cco running from elsewhere, replacing the binary at the install path.
    const r = await runCco(fx.bundles[VERSION_A]!, ['update', '--yes'], { home: h.home, env: { CCO_INSTALL_PATH: h.installPath } })
    expect(r.code, show(r)).toBe(6)
    expect(r.stderr).toContain('cp ~/.local/bin/cco.backup ~/.local/bin/cco')
    // The journal stays so the next run retries; the backup is the old binary, as the command assumes.
    expect(existsSync(h.journal)).toBe(true)
    expect(readFileSync(h.backupPath)).toEqual(old)
  })
})

describe('first install', () => {
  it('installs into an empty install path without a backup', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const target = join(h.home, 'opt', 'cco')
    const r = await runCco(fx.bundles[VERSION_A]!, ['update', '--yes'], { home: h.home, env: { CCO_INSTALL_PATH: target } })
    expect(r.code, show(r)).toBe(0)
    expect(readFileSync(target)).toEqual(readFileSync(fx.bundles[VERSION_B]!))
    expect(existsSync(`${target}.backup`)).toBe(false)
  })
})
