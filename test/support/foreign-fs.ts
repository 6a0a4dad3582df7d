// A BinaryFs (client/src/update/platform-fs.ts) that performs every operation on the real Linux
// file system but first enforces the rules of another platform, so the install protocol's
// Windows and macOS variants run here against those rules:
//   windows  a file marked as running (by its inode, so the mark follows renames) cannot be
//            renamed over, deleted, or opened for writing (EPERM, as Node reports Windows'
//            ERROR_ACCESS_DENIED); renaming it away is allowed.
//   macos    a file marked as signed (by its bytes: the signature is embedded, so a copy is
//            signed too) counts every write into it; `com.apple.quarantine` is a set of
//            inodes that clearQuarantine empties.
// Both can simulate a crash: `crashBefore(n)` throws SimulatedCrash instead of the n-th
// mutating operation (1-based), leaving the disk exactly as a SIGKILL at that point would.
//
// What it cannot prove: real NTFS and Windows loader sharing semantics (FILE_SHARE_DELETE,
// memory-mapped images, handles other programs hold), antivirus or indexer locks that refuse
// a rename for a while, MoveFileEx's own atomicity and durability, Gatekeeper's assessment,
// the kernel's code-signing checks on exec, and whether `xattr` behaves as documented.
// The hosted runners (.github/workflows/cross-platform.yml) run a real update there.
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { probeVersion } from '../../client/src/system/probe-version.ts'
import type { UpdateContext } from '../../client/src/update/context.ts'
import { noHooks } from '../../client/src/update/hooks.ts'
import { TEMP_DIR_PREFIX } from '../../client/src/update/journal.ts'
import { nodeBinaryFs, type BinaryFs, type BinaryPlatform, type WithBinaryFs } from '../../client/src/update/platform-fs.ts'
import type { Prepared } from '../../client/src/update/prepare.ts'
import { testApp } from './app-context.ts'

export class SimulatedCrash extends Error {
  readonly op: string
  constructor(op: string) {
    super(`simulated crash before ${op}`)
    this.op = op
  }
}

function refused(op: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`EPERM: operation not permitted (a running executable), ${op} '${path}'`)
  err.code = 'EPERM'
  return err
}

const inode = (path: string): string | null => {
  const st = statSync(path, { throwIfNoEntry: false })
  return st ? `${st.dev}:${st.ino}` : null
}
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

export interface ForeignFs extends BinaryFs {
  /** Marks the file now at `path` as a running executable (windows rules). */
  markRunning(path: string): void
  /** Marks the bytes now at `path` as validly signed (macos rules). */
  markSigned(path: string): void
  /** Gives the file at `path` a quarantine attribute (macos rules). */
  markQuarantined(path: string): void
  isQuarantined(path: string): boolean
  /** The bytes at `path` are bytes that were signed, and were never written into. */
  hasValidSignature(path: string): boolean
  /** Writes into a signed file (each invalidates its signature on macOS). */
  readonly signatureBreakingWrites: number
  /** Refusals so far (windows rules), e.g. `rename over running …`. */
  readonly refusals: string[]
  /** Mutating operations performed so far, in order. */
  readonly ops: string[]
  /** The n-th mutating operation (1-based) from now on throws SimulatedCrash instead. */
  crashBefore(n: number | null): void
  /**
   * The next operation whose description matches `pattern` fails with EACCES instead, as an
   * antivirus scanner holding a new file refuses its rename for a while.
   */
  failNext(pattern: RegExp): void
  /** A simulated crash happened: every later operation throws SimulatedCrash too. */
  readonly crashed: boolean
  /** The same marks, as a process started after a crash would see them. */
  readonly running: ReadonlySet<string>
}

export function foreignFs(rules: 'windows' | 'macos', o: { platform?: BinaryPlatform; running?: ReadonlySet<string> } = {}): ForeignFs {
  const real = nodeBinaryFs('posix')
  const running = new Set<string>(o.running ?? [])
  const signed = new Set<string>()
  const quarantined = new Set<string>()
  const broken = new Set<string>()
  const refusals: string[] = []
  const ops: string[] = []
  let breakingWrites = 0
  let crashAt: number | null = null

  const isRunning = (path: string) => rules === 'windows' && running.has(inode(path) ?? '')
  let crashed = false
  let failing: RegExp | null = null
  const step = (op: string) => {
    if (failing?.test(op)) {
      failing = null
      const err: NodeJS.ErrnoException = new Error(`EACCES: permission denied (held by another program), ${op}`)
      err.code = 'EACCES'
      throw err
    }
    // Once "killed", nothing more happens on disk through this layer.
    if (crashed || (crashAt !== null && ops.length + 1 === crashAt)) {
      crashed = true
      throw new SimulatedCrash(op)
    }
    ops.push(op)
  }
  const refuse = (op: string, path: string) => {
    refusals.push(`${op} ${path}`)
    throw refused(op, path)
  }
  /** `path` is opened for writing: refused when it runs, counted when it is signed. */
  const writeInto = (op: string, path: string) => {
    if (!existsSync(path)) return
    if (isRunning(path)) refuse(op, path)
    if (rules === 'macos' && signed.has(sha(path))) {
      breakingWrites++
      broken.add(inode(path)!)
    }
  }

  return {
    platform: o.platform ?? (rules === 'windows' ? 'win32' : 'darwin'),
    running,
    get signatureBreakingWrites() {
      return breakingWrites
    },
    refusals,
    ops,
    get crashed() {
      return crashed
    },
    failNext: (pattern) => {
      failing = pattern
    },
    crashBefore: (n) => {
      crashAt = n === null ? null : ops.length + n
    },
    markRunning: (path) => void running.add(inode(path)!),
    markSigned: (path) => void signed.add(sha(path)),
    markQuarantined: (path) => void quarantined.add(inode(path)!),
    isQuarantined: (path) => quarantined.has(inode(path) ?? ''),
    hasValidSignature: (path) => existsSync(path) && signed.has(sha(path)) && !broken.has(inode(path)!),

    rename(from, to) {
      step(`rename ${from} -> ${to}`)
      if (isRunning(to) && inode(to) !== inode(from)) refuse('rename over', to)
      real.rename(from, to)
    },
    remove(path, options) {
      step(`remove ${path}`)
      if (isRunning(path)) refuse('delete', path)
      // A directory with a running binary in it cannot be deleted either (simplified: nothing
      // of it is, where Windows would delete the rest).
      if (options?.recursive && statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
        for (const name of readdirSync(path, { recursive: true }) as string[]) if (isRunning(join(path, name))) refuse('delete', join(path, name))
      }
      real.remove(path, options)
    },
    link(existing, newPath) {
      step(`link ${existing} -> ${newPath}`)
      real.link(existing, newPath)
    },
    copyFile(src, dest) {
      step(`copy ${src} -> ${dest}`)
      writeInto('write into', dest)
      real.copyFile(src, dest)
    },
    chmod(path, mode) {
      // Not a write of the bytes: neither refused for a running file nor signature-breaking.
      step(`chmod ${path}`)
      real.chmod(path, mode)
    },
    fsyncFile: (path) => real.fsyncFile(path),
    fsyncDir: (dir) => real.fsyncDir(dir),
    clearQuarantine(path) {
      const id = inode(path)
      if (id) quarantined.delete(id)
    },
  }
}

/** A cco install in a temp dir with fake binaries (`cco <version>` scripts), for in-process tests. */
export interface ForeignHost {
  home: string
  ctx: UpdateContext & WithBinaryFs
  installPath: string
  backupPath: string
  /** Writes a fake binary of `version` to `path` (mode 0755). */
  writeBinary(path: string, version: string): void
  /** What the binary at `path` prints for `--version`, null when it does not run. */
  versionAt(path: string): Promise<string | null>
  /** A prepared new binary in a fresh update temp dir, as prepare.ts leaves it. */
  prepare(version: string, o?: { broken?: boolean }): Omit<Prepared, 'transfer'>
  /** Files in the install directory whose names start with the update temp prefix. */
  leftovers(): string[]
}

export function foreignHost(fs: BinaryFs, o: { exe?: boolean } = {}): ForeignHost {
  const home = mkdtempSync(join(tmpdir(), 'cco-foreign-'))
  const binDir = join(home, 'bin')
  mkdirSync(binDir)
  const app = testApp(home, { env: { CCO_INSTALL_PATH: join(binDir, o.exe === false ? 'cco' : 'cco.exe') } })
  const ctx = {
    ...app,
    configPath: app.paths.configFile,
    updatesLog: app.paths.updatesLog,
    hooks: noHooks,
    binaryFs: fs,
  } as unknown as UpdateContext & WithBinaryFs
  const writeBinary = (path: string, version: string, broken = false) => {
    writeFileSync(path, `#!/bin/sh\n${broken ? 'exit 3' : `echo "cco ${version}"`}\n`, { mode: 0o755 })
    chmodSync(path, 0o755)
  }
  return {
    home,
    ctx,
    installPath: app.paths.installPath,
    backupPath: app.paths.backupPath,
    writeBinary: (path, version) => writeBinary(path, version),
    async versionAt(path) {
      if (!existsSync(path)) return null
      const probe = await probeVersion(path, app.env)
      return probe.ok ? probe.version : null
    },
    prepare(version, p = {}) {
      const tempDir = mkdtempSync(join(binDir, TEMP_DIR_PREFIX))
      // Named like the install path (`cco.exe`), as prepare.ts names it.
      const newBinary = join(tempDir, basename(app.paths.installPath))
      writeBinary(newBinary, version, p.broken)
      return { tempDir, newBinary, sha256: sha(newBinary), version }
    },
    leftovers: () => readdirSync(binDir).filter((n) => n.startsWith(TEMP_DIR_PREFIX)),
  }
}
