// The file operations the install protocol performs on binaries and their directory, as one
// seam (`BinaryFs`). The protocol itself (commit.ts, rollback.ts, recover.ts) is written once
// and asks `platform` only where Windows differs: a running .exe cannot be renamed over or
// deleted there, but it can be renamed away. Tests pass a layer that enforces Windows or macOS
// rules on Linux (test/support/foreign-fs.ts); the CLI always uses `nodeBinaryFs()`.
import { execFileSync } from 'node:child_process'
import { chmodSync, constants, copyFileSync, linkSync, renameSync, rmSync } from 'node:fs'
import { BUILD } from '../build-info.ts'
import type { Env } from '../system/env.ts'
import { fsyncDir, fsyncFile } from '../system/fs-atomic.ts'

export type BinaryPlatform = 'win32' | 'darwin' | 'posix'

export interface BinaryFs {
  /** Which variant of the protocol applies (commit.ts). */
  readonly platform: BinaryPlatform
  rename(from: string, to: string): void
  /** Like `rm -f` (`-r` with `recursive`). */
  remove(path: string, options?: { recursive?: boolean }): void
  link(existing: string, newPath: string): void
  /** Copies into a new file at `dest` (callers remove `dest` first: never into a used file). */
  copyFile(src: string, dest: string): void
  chmod(path: string, mode: number): void
  fsyncFile(path: string): void
  fsyncDir(dir: string): void
  /** Drops macOS's `com.apple.quarantine` attribute if the file has one (not the bytes). */
  clearQuarantine(path: string): void
}

export function binaryPlatformOf(platform: NodeJS.Platform): BinaryPlatform {
  return platform === 'win32' ? 'win32' : platform === 'darwin' ? 'darwin' : 'posix'
}

export function nodeBinaryFs(platform: BinaryPlatform = binaryPlatformOf(process.platform)): BinaryFs {
  return {
    platform,
    rename: (from, to) => renameSync(from, to),
    remove: (path, options) => rmSync(path, { force: true, recursive: options?.recursive ?? false }),
    link: (existing, newPath) => linkSync(existing, newPath),
    // FICLONE makes this a cheap reflink on filesystems that support it, a copy elsewhere.
    copyFile: (src, dest) => copyFileSync(src, dest, constants.COPYFILE_FICLONE),
    chmod: (path, mode) => chmodSync(path, mode),
    fsyncFile,
    fsyncDir,
    clearQuarantine: (path) => {
      if (platform !== 'darwin') return
      // Extended attributes are not part of the code signature, so this leaves the embedded
      // (ad-hoc) signature valid. `xattr -d` exits 1 when the attribute is absent (the usual
      // case: only browsers and other LSQuarantine-aware apps set it, not Node's HTTP client).
      try {
        execFileSync('/usr/bin/xattr', ['-d', 'com.apple.quarantine', path], { stdio: 'ignore', timeout: 5000 })
      } catch {
        // Absent, or no xattr tool: nothing we can or need to do.
      }
    },
  }
}

/** What the protocol functions accept besides their context: the seam, the real one by default. */
export interface WithBinaryFs {
  binaryFs?: BinaryFs
}

/**
 * `CCO_TEST_INSTALL_VARIANT=win32` runs the Windows variant on this system, so that the fault
 * tests can SIGKILL real processes at each of its steps (test/client/windows-install.test.ts).
 * Development and test builds only, like CCO_CRASH_AT: a release build ignores it (fixed when
 * it is bundled).
 */
const VARIANT_OVERRIDE_ENABLED = BUILD !== 'release'

export function binaryFsOf(ctx: WithBinaryFs & { env?: Env }): BinaryFs {
  if (ctx.binaryFs) return ctx.binaryFs
  const forced = VARIANT_OVERRIDE_ENABLED ? ctx.env?.CCO_TEST_INSTALL_VARIANT : undefined
  return nodeBinaryFs(forced === 'win32' ? 'win32' : undefined)
}
