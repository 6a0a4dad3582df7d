// Platform keys and the mapping from asset names people publish.
import { describe, expect, it } from 'vitest'
import { archiveKind, binaryName, canonicalAssetName, platformOf, platformsForAssetName, PLATFORMS } from '../../contract/platform.ts'

describe('platformsForAssetName', () => {
  it.each([
    ['cco-2026.11.3-linux-x86_64.tar.gz', ['linux-x86_64']],
    ['cco_2026.11.3_linux_amd64.tar.gz', ['linux-x86_64']],
    ['cco-linux-x64.tgz', ['linux-x86_64']],
    ['cco-x86_64-unknown-linux-gnu.tar.gz', ['linux-x86_64']],
    ['cco-x86_64-unknown-linux-musl.tar.gz', ['linux-x86_64']],
    ['cco-2026.11.3-linux-aarch64.tar.gz', ['linux-aarch64']],
    ['cco_linux_arm64.tar.gz', ['linux-aarch64']],
    ['cco-aarch64-unknown-linux-gnu.tar.gz', ['linux-aarch64']],
    ['cco-2026.11.3-darwin-arm64.tar.gz', ['darwin-arm64']],
    ['cco-aarch64-apple-darwin.tar.gz', ['darwin-arm64']],
    ['cco-macos-x86_64.tar.gz', ['darwin-x86_64']],
    ['cco_Darwin_x86_64.tar.gz', ['darwin-x86_64']],
    ['cco-osx-amd64.zip', ['darwin-x86_64']],
    ['cco-darwin-universal.tar.gz', ['darwin-x86_64', 'darwin-arm64']],
    ['cco-2026.11.3-windows-x86_64.zip', ['windows-x86_64']],
    ['cco-x86_64-pc-windows-msvc.zip', ['windows-x86_64']],
    ['cco_win64_amd64.zip', ['windows-x86_64']],
  ])('%s → %j', (name, keys) => {
    expect(platformsForAssetName(name)).toEqual(keys)
  })

  it.each([
    'checksums.txt',
    'SHA256SUMS',
    'cco-2026.11.3-linux-x86_64.tar.gz.sig',
    'cco-2026.11.3-linux-x86_64.tar.gz.sha256',
    'cco.sbom.json',
    'cco-linux-armv7.tar.gz',
    'cco-linux-i686.tar.gz',
    'cco-windows-arm64.zip',
    'cco-linux.tar.gz',
    'cco-linux-darwin-x86_64.tar.gz',
    'cco-linux-x86_64-arm64.tar.gz',
    'cco-source.tar.gz',
  ])('%s names no platform we serve', (name) => {
    expect(platformsForAssetName(name)).toEqual([])
  })

  it('does not read "win" inside "darwin"', () => {
    expect(platformsForAssetName('cco-darwin-arm64.zip')).toEqual(['darwin-arm64'])
  })
})

describe('helpers', () => {
  it('knows archive kinds', () => {
    expect(archiveKind('a.tar.gz')).toBe('tar.gz')
    expect(archiveKind('a.TGZ')).toBe('tar.gz')
    expect(archiveKind('a.zip')).toBe('zip')
    expect(archiveKind('a.tar.xz')).toBeNull()
  })

  it('maps Node process platforms onto keys', () => {
    expect(platformOf('linux', 'x64')).toBe('linux-x86_64')
    expect(platformOf('linux', 'arm64')).toBe('linux-aarch64')
    expect(platformOf('darwin', 'arm64')).toBe('darwin-arm64')
    expect(platformOf('darwin', 'x64')).toBe('darwin-x86_64')
    expect(platformOf('win32', 'x64')).toBe('windows-x86_64')
    expect(platformOf('freebsd', 'x64')).toBeNull()
    expect(platformOf('linux', 'riscv64')).toBeNull()
  })

  it('round-trips canonical asset names', () => {
    for (const p of PLATFORMS) expect(platformsForAssetName(canonicalAssetName('2026.11.3', p))).toEqual([p])
    expect(binaryName('windows-x86_64')).toBe('cco.exe')
    expect(binaryName('linux-aarch64')).toBe('cco')
  })
})
