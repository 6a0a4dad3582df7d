// macOS: the install protocol never writes into a binary, so a signed one (the release
// binaries carry an ad-hoc signature embedded in their bytes) stays validly signed through an
// update, a failed update's restore, a rollback and a recovery, and a quarantine attribute on
// the new binary is dropped before it is installed. Checked on Linux against
// test/support/foreign-fs.ts, which counts writes into signed files; the kernel's signature
// check and Gatekeeper run only on macos-latest (.github/workflows/cross-platform.yml).
import { describe, expect, it } from 'vitest'
import { commitInstall } from '../../client/src/update/commit.ts'
import { acquireLock } from '../../client/src/update/lock.ts'
import { recoverInterruptedInstall } from '../../client/src/update/recover.ts'
import { rollbackToBackup } from '../../client/src/update/rollback.ts'
import { foreignFs, foreignHost, SimulatedCrash, type ForeignFs, type ForeignHost } from '../support/foreign-fs.ts'

const A = '2026.1.1'
const B = '2026.1.2'

function signedHost(): { h: ForeignHost; fs: ForeignFs } {
  const fs = foreignFs('macos')
  const h = foreignHost(fs, { exe: false })
  h.writeBinary(h.installPath, A)
  fs.markSigned(h.installPath)
  return { h, fs }
}

async function update(h: ForeignHost, fs: ForeignFs, version: string, o: { broken?: boolean; quarantined?: boolean } = {}) {
  const prepared = h.prepare(version, o)
  fs.markSigned(prepared.newBinary)
  if (o.quarantined) fs.markQuarantined(prepared.newBinary)
  const lock = await acquireLock(h.ctx.paths.updateLock)
  try {
    return await commitInstall({ ...h.ctx, binaryFs: fs }, prepared, { kind: 'update', previousVersion: A, lock })
  } finally {
    lock.release()
  }
}

describe('macOS signatures and quarantine', () => {
  it('an update keeps both binaries validly signed and drops the quarantine attribute', async () => {
    const { h, fs } = signedHost()
    await update(h, fs, B, { quarantined: true })
    expect(await h.versionAt(h.installPath)).toBe(B)
    expect(fs.hasValidSignature(h.installPath)).toBe(true)
    expect(fs.hasValidSignature(h.backupPath)).toBe(true)
    expect(fs.isQuarantined(h.installPath)).toBe(false)
    expect(fs.signatureBreakingWrites).toBe(0)
  })

  it('a failed update restores the previous binary as a new file, still signed', async () => {
    const { h, fs } = signedHost()
    await expect(update(h, fs, B, { broken: true })).rejects.toThrow(/rolled back/)
    expect(await h.versionAt(h.installPath)).toBe(A)
    expect(fs.hasValidSignature(h.installPath)).toBe(true)
    expect(fs.signatureBreakingWrites).toBe(0)
  })

  it('cco rollback and a recovery after a kill write into no signed binary', async () => {
    const { h, fs } = signedHost()
    await update(h, fs, B)
    await rollbackToBackup({ ...h.ctx, binaryFs: fs })
    expect(await h.versionAt(h.installPath)).toBe(A)
    expect(fs.hasValidSignature(h.installPath) && fs.hasValidSignature(h.backupPath)).toBe(true)

    // Killed between "cco.backup is a link" and "the new binary is in place", then recovered.
    fs.crashBefore(2)
    await expect(update(h, fs, B)).rejects.toBeInstanceOf(SimulatedCrash)
    const next = foreignFs('macos')
    next.markSigned(h.installPath)
    await recoverInterruptedInstall({ ...h.ctx, binaryFs: next })
    expect(await h.versionAt(h.installPath)).toBe(A)
    expect(next.hasValidSignature(h.installPath)).toBe(true)
    expect(fs.signatureBreakingWrites + next.signatureBreakingWrites).toBe(0)
  })

  it('the layer counts a write into a signed binary (what `cp cco.backup cco` does)', () => {
    const { h, fs } = signedHost()
    const other = h.prepare(B).newBinary
    fs.copyFile(other, h.installPath)
    expect(fs.signatureBreakingWrites).toBe(1)
    expect(fs.hasValidSignature(h.installPath)).toBe(false)
  })
})
