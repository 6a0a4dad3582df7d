// Platform keys and the mapping from the asset names people actually publish (contract/README.md).

export const PLATFORMS = ['linux-x86_64', 'linux-aarch64', 'darwin-x86_64', 'darwin-arm64', 'windows-x86_64'] as const
export type Platform = (typeof PLATFORMS)[number]

export type ArchiveKind = 'tar.gz' | 'zip'

export function isPlatform(key: string): key is Platform {
  return (PLATFORMS as readonly string[]).includes(key)
}

/** The archive format of an asset name, or null when it is not an archive we install from. */
export function archiveKind(name: string): ArchiveKind | null {
  const n = name.toLowerCase()
  if (n.endsWith('.tar.gz') || n.endsWith('.tgz')) return 'tar.gz'
  if (n.endsWith('.zip')) return 'zip'
  return null
}

/** The name of the executable inside a platform's archive. */
export function binaryName(platform: Platform): string {
  return platform.startsWith('windows-') ? 'cco.exe' : 'cco'
}

/** The canonical archive name the project's own release build produces. */
export function canonicalAssetName(version: string, platform: Platform): string {
  return `cco-${version}-${platform}.${platform.startsWith('windows-') ? 'zip' : 'tar.gz'}`
}

// A token must stand alone: not preceded or followed by a letter or digit, so that `win`
// does not match inside `darwin` and `arm64` does not match inside `arm6400`.
const token = (alternatives: string) => new RegExp(`(?<![a-z0-9])(?:${alternatives})(?![a-z0-9])`)

const OS = {
  linux: token('linux|unknown-linux-gnu|unknown-linux-musl'),
  darwin: token('darwin|macos|mac|osx|apple-darwin'),
  windows: token('windows|win64|win|pc-windows-msvc|pc-windows-gnu'),
} as const
const ARCH = {
  x86_64: token('x86_64|x86-64|amd64|x64'),
  arm64: token('aarch64|arm64'),
  universal: token('universal|universal2'),
} as const

/**
 * The platform keys an asset name stands for: `[]` when it is not an installable archive
 * or names no platform we serve (checksums, SBOMs, signatures, 32-bit or other CPUs).
 * A macOS `universal` archive stands for both macOS keys.
 */
export function platformsForAssetName(name: string): Platform[] {
  if (!archiveKind(name)) return []
  const n = name.toLowerCase()
  const isLinux = OS.linux.test(n)
  const isDarwin = OS.darwin.test(n)
  const isWindows = OS.windows.test(n)
  if (Number(isLinux) + Number(isDarwin) + Number(isWindows) !== 1) return []
  const x64 = ARCH.x86_64.test(n)
  const arm = ARCH.arm64.test(n)
  if (x64 && arm) return []
  if (isDarwin && ARCH.universal.test(n) && !x64 && !arm) return ['darwin-x86_64', 'darwin-arm64']
  if (isLinux) return x64 ? ['linux-x86_64'] : arm ? ['linux-aarch64'] : []
  if (isDarwin) return x64 ? ['darwin-x86_64'] : arm ? ['darwin-arm64'] : []
  return x64 ? ['windows-x86_64'] : []
}

/** The platform key of a Node.js process (`process.platform`, `process.arch`), or null. */
export function platformOf(osName: string, arch: string): Platform | null {
  const os = osName === 'win32' ? 'windows' : osName
  const cpu = arch === 'x64' ? 'x86_64' : arch === 'arm64' ? (os === 'linux' ? 'aarch64' : 'arm64') : arch
  const key = `${os}-${cpu}`
  return isPlatform(key) ? key : null
}
