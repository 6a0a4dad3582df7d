// Install phase 1, "prepare": everything that can fail without touching the installed binary.
// Download into a private temp dir beside the install path (same filesystem, so the later
// rename is atomic), verify size and sha256, extract only the binary, and run it once.
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Asset } from '../../../contract/manifest.ts'
import { archiveKind, binaryName } from '../../../contract/platform.ts'
import { CliError, errnoCode, ExitCode, messageOf, RefusedError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { crashPoint } from '../system/crash-points.ts'
import type { UpdateContext } from './context.ts'
import { downloadArtifact } from './download.ts'
import { extractBinary } from './extract.ts'
import { clearJournal, removeTempDir, sweepUpdateTemps, startJournal, TEMP_DIR_PREFIX } from './journal.ts'
import { probeBinary } from './probe.ts'

export interface Prepared {
  tempDir: string
  newBinary: string
  sha256: string
  version: string
}

export interface Target {
  version: string
  asset: Asset
}

/** `Failed to install new binary: …` (exit 1): the install directory cannot take the update. */
export function installDirError(dir: string, err: unknown): CliError {
  const code = errnoCode(err)
  const why = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `${dir} is not writable (${code})` : messageOf(err)
  return new CliError(`Failed to install new binary: ${why}`, ExitCode.failure, { cause: err, kind: 'disk' })
}

/**
 * Creates the private temp dir. Leftovers of earlier interrupted runs are removed first:
 * the caller holds the update lock, so no other updater can be using them.
 */
export function createTempDir(installPath: string): string {
  const dir = dirname(installPath)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 })
    sweepUpdateTemps(installPath)
    const temp = mkdtempSync(join(dir, TEMP_DIR_PREFIX))
    // mkdtemp already uses 0700; say so explicitly, the archive must not be readable by others
    // while it is unverified.
    chmodSync(temp, 0o700)
    return temp
  } catch (err) {
    throw installDirError(dir, err)
  }
}

/** `<new> --version` must print `cco <expected>` (compared as versions). */
export async function checkNewBinary(ctx: UpdateContext, binary: string, expected: string): Promise<void> {
  const probe = await probeBinary(binary, ctx.env, expected)
  if (probe.kind === 'fails') throw new CliError(`New binary verification failed: ${probe.problem}`, ExitCode.failure, { kind: 'self-test' })
  if (probe.kind === 'other') {
    throw new CliError(`New binary verification failed: it reports version ${probe.version}, the manifest says ${expected}`, ExitCode.failure, { kind: 'self-test' })
  }
}

export async function prepareInstall(ctx: UpdateContext, target: Target): Promise<Prepared> {
  const { installPath, backupPath, installJournal } = ctx.paths
  const kind = archiveKind(target.asset.name)
  if (!kind) throw new RefusedError('archive', `Archive refused: ${target.asset.name} is neither .tar.gz nor .zip`)
  const tempDir = createTempDir(installPath)
  try {
    startJournal(installJournal, {
      kind: 'update',
      installPath,
      backupPath,
      tempDir,
      expectedVersion: target.version,
      previousVersion: ctx.version,
      startedAt: toRfc3339(ctx.clock.now()),
    })
    crashPoint(ctx.env, 'journal-started')

    const archive = join(tempDir, kind === 'zip' ? 'archive.zip' : 'archive.tar.gz')
    const bar = ctx.progress?.(target.asset.name, target.asset.size)
    try {
      await downloadArtifact({
        http: ctx.http,
        url: target.asset.url,
        size: target.asset.size,
        sha256: target.asset.sha256,
        dest: archive,
        stallTimeoutMs: ctx.downloadStallMs,
        totalTimeoutMs: ctx.downloadDeadlineMs,
        onProgress: bar ? (n) => bar.update(n) : undefined,
      })
    } finally {
      bar?.stop()
    }
    crashPoint(ctx.env, 'downloaded')

    const exe = ctx.platform ? binaryName(ctx.platform) : 'cco'
    const newBinary = join(tempDir, exe)
    const extracted = await extractBinary({ archivePath: archive, kind, binaryName: exe, dest: newBinary, archiveSize: target.asset.size })
    crashPoint(ctx.env, 'extracted')

    await checkNewBinary(ctx, newBinary, target.version)
    crashPoint(ctx.env, 'new-binary-checked')
    return { tempDir, newBinary, sha256: extracted.sha256, version: target.version }
  } catch (err) {
    // Nothing was swapped: remove every trace of this attempt.
    removeTempDir(tempDir, installPath)
    clearJournal(installJournal)
    throw err
  }
}
