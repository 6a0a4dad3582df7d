// Extracts only the `cco` binary from a release archive (.tar.gz or .zip) after checking that
// every entry is harmless: no absolute paths, no `..`, no links, devices or fifos, and no
// entry larger than a bound derived from the archive's size (decompression bombs).
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, fchmodSync, fdatasync, fsyncSync, openSync, rmSync, writev } from 'node:fs'
import type { Readable } from 'node:stream'
import { Parser, type ReadEntry } from 'tar'
import yauzl from 'yauzl'
import type { ArchiveKind } from '../../../contract/platform.ts'
import { CliError, errnoCode, messageOf, RefusedError } from '../errors.ts'
import { installWriteError } from './binary-files.ts'

export const MAX_ENTRY_BYTES = 512 * 1024 * 1024
/** Release binaries compress about 3:1; anything past this ratio is not a release archive. */
const MAX_RATIO = 20
const MIN_CAP = 32 * 1024 * 1024

/** The largest entry accepted from an archive of `archiveSize` bytes. */
export function entryCap(archiveSize: number): number {
  return Math.min(MAX_ENTRY_BYTES, Math.max(archiveSize * MAX_RATIO, MIN_CAP))
}

export interface ExtractOptions {
  archivePath: string
  kind: ArchiveKind
  /** `cco` or `cco.exe`. */
  binaryName: string
  /** Where to write the binary (created; mode 0755 once complete). */
  dest: string
  archiveSize: number
  /**
   * The .tar.gz as it is being downloaded, instead of archivePath: extract while downloading.
   * The binary is only made executable and durable once `verified` resolves (the download's
   * size and sha256 matched); until then it is a 0600 file in the private temp dir.
   */
  source?: Readable
  verified?: Promise<unknown>
}

export interface Extracted {
  sha256: string
  size: number
}

type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'fifo' | 'other'

function refuse(message: string): RefusedError {
  return new RefusedError('archive', `Archive refused: ${message}`)
}

/** Why an entry makes the whole archive unacceptable, or null. */
export function entryProblem(path: string, type: EntryType): string | null {
  if (path.length === 0) return 'an entry has an empty name'
  if (/^[\\/]/.test(path) || /^[A-Za-z]:/.test(path)) return `entry ${JSON.stringify(path)} has an absolute path`
  if (path.split(/[\\/]+/).includes('..')) return `entry ${JSON.stringify(path)} escapes the archive root (..)`
  if (path.includes('\0')) return `entry ${JSON.stringify(path)} has a NUL byte in its name`
  switch (type) {
    case 'file':
    case 'directory':
      return null
    case 'symlink':
      return `entry ${JSON.stringify(path)} is a symbolic link`
    case 'hardlink':
      return `entry ${JSON.stringify(path)} is a hard link`
    case 'device':
      return `entry ${JSON.stringify(path)} is a device`
    case 'fifo':
      return `entry ${JSON.stringify(path)} is a fifo`
    default:
      return `entry ${JSON.stringify(path)} has an unsupported type`
  }
}

/** `cco` or `./cco` at the root. */
function isBinaryPath(path: string, binaryName: string): boolean {
  return path.replace(/^(\.\/)+/, '') === binaryName
}

/** Bytes the writer may hold for the thread pool before the archive's reader is paused. */
const QUEUE_LIMIT = 4 * 1024 * 1024
/** Bytes written between two early writebacks (an fdatasync on the pool while extraction goes on). */
export const WRITEBACK_BYTES = 8 * 1024 * 1024

/**
 * Writes the binary's bytes, hashing them and enforcing the cap. The hash and the cap are
 * applied here, in order, as chunks arrive; the writes themselves run on libuv's thread pool
 * (one positional writev at a time, of every chunk queued meanwhile), so the main thread goes
 * on inflating and hashing while the kernel copies. Every WRITEBACK_BYTES an fdatasync is
 * started on the pool as well, so the disk takes the binary while the rest still downloads
 * and the fsync of finish() finds little left to write. finish() waits for all of it and still
 * ends with that fsync: the early ones only move the writeback forward, they do not replace
 * the one before the rename. Nothing here makes the file executable before finish().
 */
// A failing write (disk full, EFBIG) is the install directory's problem, not the archive's:
// it becomes installWriteError (exit 1), never an "Archive refused". It is reported by the
// next write() or by finish().
class BinaryWriter {
  readonly #fd: number
  readonly #cap: number
  readonly #dest: string
  readonly #hash = createHash('sha256')
  size = 0
  #queue: Buffer[] = []
  /** Bytes accepted but not yet written (queued or in flight). */
  #pending = 0
  #offset = 0
  #writing = false
  #syncing = false
  #unsynced = 0
  #failed = false
  #error: unknown
  #onDrain: (() => void) | null = null
  #onIdle: (() => void)[] = []
  constructor(dest: string, cap: number) {
    // Not executable until finish(): the bytes may not be verified yet (ExtractOptions.source).
    this.#fd = openSync(dest, 'wx', 0o600)
    this.#cap = cap
    this.#dest = dest
  }
  /** Takes a chunk; false when the caller should pause until `onDrain` calls back. */
  write(chunk: Buffer): boolean {
    if (this.#failed) throw installWriteError(this.#dest, this.#error)
    this.size += chunk.length
    if (this.size > this.#cap) throw refuse(`the binary is larger than ${this.#cap} bytes`)
    this.#hash.update(chunk)
    this.#queue.push(chunk)
    this.#pending += chunk.length
    this.#pump()
    return this.#pending < QUEUE_LIMIT
  }
  /** `resume` runs once the bytes held for the pool are down to half the limit (or on a failure). */
  onDrain(resume: () => void): void {
    this.#onDrain = resume
    this.#settle()
  }
  #pump(): void {
    if (this.#writing || this.#failed || this.#queue.length === 0) return this.#settle()
    const chunks = this.#queue
    this.#queue = []
    this.#writing = true
    writev(this.#fd, chunks, this.#offset, (err, written) => {
      this.#writing = false
      if (!err && written === 0) err = new Error('the write made no progress')
      if (err) {
        this.#fail(err)
      } else {
        this.#offset += written
        this.#pending -= written
        this.#unsynced += written
        // A short write (a file size limit reached mid-way): the rest goes again, and the
        // next write reports the error.
        if (written < chunks.reduce((n, c) => n + c.length, 0)) this.#queue.unshift(...remainderOf(chunks, written))
        if (this.#unsynced >= WRITEBACK_BYTES && !this.#syncing) this.#writeback()
      }
      this.#pump()
    })
  }
  #writeback(): void {
    this.#syncing = true
    this.#unsynced = 0
    fdatasync(this.#fd, (err) => {
      this.#syncing = false
      if (err) this.#fail(err)
      this.#settle()
    })
  }
  #fail(err: unknown): void {
    if (!this.#failed) this.#error = err
    this.#failed = true
    this.#queue = []
    this.#pending = 0
  }
  #settle(): void {
    if (this.#onDrain && (this.#failed || this.#pending <= QUEUE_LIMIT / 2)) {
      const resume = this.#onDrain
      this.#onDrain = null
      resume()
    }
    if (!this.#writing && !this.#syncing && (this.#failed || this.#queue.length === 0)) {
      for (const idle of this.#onIdle.splice(0)) idle()
    }
  }
  /** Resolves once no write or writeback is queued or on the pool. */
  #idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#onIdle.push(resolve)
      this.#settle()
    })
  }
  async finish(): Promise<Extracted> {
    await this.#idle()
    if (this.#failed) throw installWriteError(this.#dest, this.#error)
    try {
      fchmodSync(this.#fd, 0o755)
      // The binary must be durable before it is renamed over the installed one.
      fsyncSync(this.#fd)
      closeSync(this.#fd)
    } catch (err) {
      throw installWriteError(this.#dest, err)
    }
    return { sha256: this.#hash.digest('hex'), size: this.size }
  }
  /** Stops writing and closes the file once the pool is done with it (never under a pending write). */
  async abandon(): Promise<void> {
    this.#fail(new Error('abandoned'))
    await this.#idle()
    try {
      closeSync(this.#fd)
    } catch {}
  }
}

/** What is left of `chunks` after the first `written` bytes. */
export function remainderOf(chunks: Buffer[], written: number): Buffer[] {
  const rest: Buffer[] = []
  let skip = written
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length
      continue
    }
    rest.push(skip > 0 ? c.subarray(skip) : c)
    skip = 0
  }
  return rest
}

export async function extractBinary(o: ExtractOptions): Promise<Extracted> {
  const cap = entryCap(o.archiveSize)
  let writer: BinaryWriter | undefined
  let done = false
  try {
    if (o.kind === 'tar.gz') await extractTar(o, cap, () => (writer = new BinaryWriter(o.dest, cap)))
    else await extractZip(o, cap, () => (writer = new BinaryWriter(o.dest, cap)))
    if (!writer) throw new RefusedError('archive', `Binary not found in archive: no ${o.binaryName} at the root`)
    await o.verified
    const result = await (writer as BinaryWriter).finish()
    done = true
    return result
  } finally {
    if (!done) {
      await (writer as BinaryWriter | undefined)?.abandon()
      rmSync(o.dest, { force: true })
    }
  }
}

function tarType(entry: ReadEntry): EntryType {
  switch (entry.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file'
    case 'Directory':
      return 'directory'
    case 'SymbolicLink':
      return 'symlink'
    case 'Link':
      return 'hardlink'
    case 'CharacterDevice':
    case 'BlockDevice':
      return 'device'
    case 'FIFO':
      return 'fifo'
    default:
      return 'other'
  }
}

function extractTar(o: ExtractOptions, cap: number, openBinary: () => BinaryWriter): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false
    const input = o.source ?? createReadStream(o.archivePath)
    // strict: tar format warnings (bad checksums, truncated data) are errors here.
    const parser = new Parser({ strict: true })
    let total = 0
    const fail = (err: unknown) => {
      if (settled) return
      settled = true
      input.destroy()
      reject(err instanceof CliError ? err : refuse(`not a valid .tar.gz (${messageOf(err)})`))
    }
    parser.on('entry', (entry: ReadEntry) => {
      if (settled) return entry.resume()
      const type = tarType(entry)
      const problem = entryProblem(entry.path, type)
      if (problem) return fail(refuse(problem))
      // Sizes come from the header, before any byte of the body is inflated.
      total += entry.size
      if (entry.size > cap || total > 2 * cap) return fail(refuse(`entry ${JSON.stringify(entry.path)} is ${entry.size} bytes, far more than a ${o.archiveSize}-byte archive can hold`))
      if (type === 'file' && isBinaryPath(entry.path, o.binaryName)) {
        let writer: BinaryWriter
        try {
          writer = openBinary()
        } catch (err) {
          // A second entry with the binary's name: ambiguous, refuse.
          if (errnoCode(err) === 'EEXIST') return fail(refuse(`more than one ${o.binaryName} in the archive (${messageOf(err)})`))
          return fail(installWriteError(o.dest, err))
        }
        entry.on('data', (chunk: Buffer) => {
          if (settled) return
          try {
            // Backpressure: a paused entry makes the parser's write() return false, which
            // pauses the archive's stream (and, while downloading, the download).
            if (!writer.write(chunk)) {
              entry.pause()
              writer.onDrain(() => entry.resume())
            }
          } catch (err) {
            fail(err)
          }
        })
        return
      }
      entry.resume()
    })
    parser.on('error', fail)
    parser.on('abort', fail)
    parser.on('end', () => {
      if (settled) return
      settled = true
      resolve()
    })
    input.on('error', fail)
    input.pipe(parser)
  })
}

const S_IFMT = 0o170000
function zipType(entry: yauzl.Entry): EntryType {
  const madeOnUnix = entry.versionMadeBy >> 8 === 3
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT
  if (madeOnUnix && mode !== 0) {
    switch (mode) {
      case 0o100000:
        return 'file'
      case 0o040000:
        return 'directory'
      case 0o120000:
        return 'symlink'
      case 0o020000:
      case 0o060000:
        return 'device'
      case 0o010000:
        return 'fifo'
      default:
        return 'other'
    }
  }
  return entry.fileName.endsWith('/') ? 'directory' : 'file'
}

function extractZip(o: ExtractOptions, cap: number, openBinary: () => BinaryWriter): Promise<void> {
  return new Promise((resolve, reject) => {
    // validateEntrySizes: yauzl errors when an entry inflates to more (or less) than it declares.
    yauzl.open(o.archivePath, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: true }, (openErr, zip) => {
      if (openErr || !zip) return reject(refuse(`not a valid .zip (${messageOf(openErr)})`))
      let settled = false
      let total = 0
      let found = false
      const fail = (err: unknown) => {
        if (settled) return
        settled = true
        zip.close()
        // yauzl's own checks (absolute paths, `..`, sizes that lie) arrive here as errors.
        reject(err instanceof CliError ? err : refuse(messageOf(err)))
      }
      zip.on('error', fail)
      zip.on('end', () => {
        if (settled) return
        settled = true
        resolve()
      })
      zip.on('entry', (entry: yauzl.Entry) => {
        if (settled) return
        const type = zipType(entry)
        const problem = entryProblem(entry.fileName, type)
        if (problem) return fail(refuse(problem))
        if (entry.isEncrypted()) return fail(refuse(`entry ${JSON.stringify(entry.fileName)} is encrypted`))
        total += entry.uncompressedSize
        if (entry.uncompressedSize > cap || total > 2 * cap) {
          return fail(refuse(`entry ${JSON.stringify(entry.fileName)} declares ${entry.uncompressedSize} bytes, far more than a ${o.archiveSize}-byte archive can hold`))
        }
        if (type !== 'file' || !isBinaryPath(entry.fileName, o.binaryName)) return zip.readEntry()
        if (found) return fail(refuse(`more than one ${o.binaryName} in the archive`))
        found = true
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return fail(streamErr)
          let writer: BinaryWriter
          try {
            writer = openBinary()
          } catch (err) {
            stream.destroy()
            return fail(installWriteError(o.dest, err))
          }
          stream.on('data', (chunk: Buffer) => {
            if (settled) return
            try {
              if (!writer.write(chunk)) {
                stream.pause()
                writer.onDrain(() => stream.resume())
              }
            } catch (err) {
              stream.destroy()
              fail(err)
            }
          })
          stream.on('error', fail)
          stream.on('end', () => {
            if (!settled) zip.readEntry()
          })
        })
      })
      zip.readEntry()
    })
  })
}
