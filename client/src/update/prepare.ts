// Install phase 1, "prepare": everything that can fail without touching the installed binary.
// Download into a private temp dir beside the install path (same filesystem, so the later
// rename is atomic), verify size and sha256, extract only the binary, and run it once.
import { chmodSync, mkdirSync, mkdtempSync, statSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { dirname, join } from 'node:path'
import type { Asset } from '../../../contract/manifest.ts'
import { archiveKind, binaryName } from '../../../contract/platform.ts'
import { CliError, errnoCode, ExitCode, messageOf, RefusedError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { crashPoint } from '../system/crash-points.ts'
import type { UpdateContext } from './context.ts'
import { installDifferential, formatBytes } from './differential.ts'
import { downloadArtifact } from './download.ts'
import { extractBinary, type Extracted } from './extract.ts'
import { clearJournal, removeTempDir, sweepUpdateTemps, startJournal, TEMP_DIR_PREFIX } from './journal.ts'
import { probeBinary } from './probe.ts'
import { traceStep } from './trace.ts'
import type { Transfer } from './transfer.ts'

export interface Prepared {
  tempDir: string
  newBinary: string
  sha256: string
  version: string
  /** What this install downloaded. */
  transfer: Transfer
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
    traceStep(ctx.env, 'temp dir and journal')

    const archive = join(tempDir, kind === 'zip' ? 'archive.zip' : 'archive.tar.gz')
    const exe = ctx.platform ? binaryName(ctx.platform) : 'cco'
    const newBinary = join(tempDir, exe)

    // A differential update first, when the release offers one and a binary is installed to
    // rebuild from; anything unexpected there ends in the archive download below.
    const delta = target.asset.binary
    let transferred = 0
    let differential = false
    let extracted: Extracted | null = null
    if (delta && !ctx.fullDownload && ctx.platform && statSync(installPath, { throwIfNoEntry: false })?.isFile()) {
      const attempt = await installDifferential({
        http: ctx.http,
        delta,
        version: target.version,
        platform: ctx.platform,
        archiveSize: target.asset.size,
        installed: installPath,
        dest: newBinary,
        stallTimeoutMs: ctx.downloadStallMs,
        totalTimeoutMs: ctx.downloadDeadlineMs,
        progress: ctx.progress,
        label: `${target.asset.name} (differential)`,
      })
      transferred += attempt.bytes
      if (attempt.kind === 'installed') {
        extracted = attempt.extracted
        differential = true
        crashPoint(ctx.env, 'downloaded')
        crashPoint(ctx.env, 'extracted')
        traceStep(ctx.env, 'differential: block map, chunks, ranges, write')
      } else {
        ctx.logger.warn(`Differential update not used: ${attempt.reason}; downloading the full archive (${formatBytes(target.asset.size)})`)
      }
    }
    if (!extracted) {
      extracted = await downloadAndExtract(ctx, target, { archivePath: archive, kind, binaryName: exe, dest: newBinary, archiveSize: target.asset.size })
      transferred += target.asset.size
    }

    await checkNewBinary(ctx, newBinary, target.version)
    crashPoint(ctx.env, 'new-binary-checked')
    traceStep(ctx.env, 'version probe (new binary)')
    const transfer: Transfer = { bytes: transferred, differential, archiveBytes: target.asset.size }
    return { tempDir, newBinary, sha256: extracted.sha256, version: target.version, transfer }
  } catch (err) {
    // Nothing was swapped: remove every trace of this attempt.
    removeTempDir(tempDir, installPath)
    clearJournal(installJournal)
    throw err
  }
}

/** The archive path: download (extracting a .tar.gz as it arrives), verify, extract. */
async function downloadAndExtract(ctx: UpdateContext, target: Target, extractOptions: Parameters<typeof extractBinary>[0]): Promise<Extracted> {
  const stream = extractOptions.kind === 'tar.gz' ? streamingExtract(extractOptions) : null
  const bar = ctx.progress?.(target.asset.name, target.asset.size)
  try {
    const downloaded = downloadArtifact({
      http: ctx.http,
      url: target.asset.url,
      size: target.asset.size,
      sha256: target.asset.sha256,
      dest: extractOptions.archivePath,
      stallTimeoutMs: ctx.downloadStallMs,
      totalTimeoutMs: ctx.downloadDeadlineMs,
      onProgress: bar ? (n) => bar.update(n) : undefined,
      onData: stream?.feed,
    })
    stream?.verifiedBy(downloaded)
    await downloaded
  } catch (err) {
    await stream?.abandon()
    throw err
  } finally {
    bar?.stop()
  }
  crashPoint(ctx.env, 'downloaded')
  traceStep(ctx.env, 'download, hash, extract')

  // The archive is verified: finish the extraction that ran alongside the download, or
  // extract from the file when there was none or it could not be used.
  const extracted = (await stream?.finish()) ?? (await extractBinary(extractOptions))
  crashPoint(ctx.env, 'extracted')
  traceStep(ctx.env, 'finish extract, fsync binary')
  return extracted
}

/**
 * A .tar.gz extracted while it downloads (download.ts onData → extract.ts source): gunzip and
 * the tar parser run on the chunks as they arrive, into the private temp dir. What it wrote
 * counts only once the download's size and sha256 matched (the binary stays a 0600 file until
 * then). A transfer that starts over, or any failure of this extraction, makes finish() return
 * null: the caller then extracts from the verified file, which reports the archive's problems.
 */
function streamingExtract(o: Parameters<typeof extractBinary>[0]) {
  const source = new PassThrough()
  let verified!: (p: Promise<unknown>) => void
  const verifiedDownload = new Promise<unknown>((resolve) => (verified = resolve))
  // Awaited by the extraction only if it gets that far; a failed download is the caller's to report.
  verifiedDownload.catch(() => {})
  const extraction: Promise<Extracted | null> = extractBinary({ ...o, source, verified: verifiedDownload }).catch(() => null)
  let settled = false
  void extraction.then(() => (settled = true))
  let next = 0
  let usable = true
  const stop = () => {
    usable = false
    source.destroy(new Error('extraction while downloading abandoned'))
  }
  return {
    async feed(chunk: Buffer, offset: number): Promise<void> {
      if (!usable || settled) return
      if (offset !== next) return stop()
      next = offset + chunk.length
      // Backpressure, unless the extraction already ended (then nothing drains the stream).
      if (!source.write(chunk)) await Promise.race([new Promise((r) => source.once('drain', r)), extraction])
    },
    verifiedBy(download: Promise<unknown>): void {
      verified(download.then(() => (usable ? undefined : Promise.reject(new Error('not usable')))))
    },
    async finish(): Promise<Extracted | null> {
      if (usable && !settled) source.end()
      else if (!usable) source.destroy()
      return usable ? extraction : (await extraction, null)
    },
    async abandon(): Promise<void> {
      stop()
      await extraction
    },
  }
}
