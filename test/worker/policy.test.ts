// The pure policy modules and the config parser, tested with plain data.
import { describe, expect, it } from 'vitest'
import type { ManifestPayload } from '../../contract/manifest.ts'
import { parseAssetHosts, parseConfig } from '../../worker/config.ts'
import { ConfigError } from '../../worker/errors.ts'
import { assetUrlProblem } from '../../worker/policy/asset-hosts.ts'
import { assessRelease } from '../../worker/policy/assess-release.ts'
import { ifNoneMatchMatches } from '../../worker/policy/cache.ts'
import { computeChannels, type ChannelPointer, type ChannelPointers, type LiveRelease } from '../../worker/policy/channels.ts'
import { soakClock } from '../../worker/policy/soak.ts'
import { parseChecksums, pickChecksumsFile, sha256FromDigest } from '../../worker/policy/checksums.ts'
import type { GithubRelease } from '../../worker/policy/github-release.ts'
import { shrinkYankReasons } from '../../worker/policy/manifest.ts'

const HEX = 'ab'.repeat(32)

describe('checksums files', () => {
  it('reads sha256sum text with text and binary markers, ./ prefixes, CRLF and uppercase hex', () => {
    const text = `${HEX}  cco-linux.tar.gz\r\n${HEX.toUpperCase()} *cco-mac.tar.gz\n${'cd'.repeat(32)}  ./cco.zip\n# comment\nnot a line\n`
    expect(Object.fromEntries(parseChecksums(text))).toEqual({ 'cco-linux.tar.gz': HEX, 'cco-mac.tar.gz': HEX, 'cco.zip': 'cd'.repeat(32) })
  })

  it('trusts neither line when a name is listed twice with different digests', () => {
    expect(parseChecksums(`${HEX}  a.tar.gz\n${'cd'.repeat(32)}  a.tar.gz\n`).has('a.tar.gz')).toBe(false)
  })

  it('recognises the usual checksums file names, preferring checksums.txt', () => {
    const names = ['cco_2026.1.1_checksums.txt', 'SHA256SUMS', 'checksums.sha256', 'notes.txt'].map((name) => ({ name }))
    expect(pickChecksumsFile(names)?.name).toBe('SHA256SUMS')
    expect(pickChecksumsFile([...names, { name: 'Checksums.TXT' }])?.name).toBe('Checksums.TXT')
    expect(pickChecksumsFile([{ name: 'notes.txt' }])).toBeUndefined()
  })

  it('accepts only sha256 digests from GitHub', () => {
    expect(sha256FromDigest(`sha256:${HEX.toUpperCase()}`)).toBe(HEX)
    expect(sha256FromDigest(`sha512:${HEX}${HEX}`)).toBeNull()
    expect(sha256FromDigest(null)).toBeNull()
  })
})

describe('asset hosts', () => {
  const hosts = parseAssetHosts('github.com, 127.0.0.1:8080, localhost')
  it('accepts https on listed hosts and http only on loopback hosts', () => {
    expect(assetUrlProblem('https://github.com/a/b', hosts)).toBeNull()
    expect(assetUrlProblem('https://github.com:8443/a', hosts)).toBeNull() // a bare host entry allows any port
    expect(assetUrlProblem('http://127.0.0.1:8080/a', hosts)).toBeNull()
    expect(assetUrlProblem('http://127.0.0.1:8081/a', hosts)).toBe('is on 127.0.0.1:8081, which is not in ASSET_HOSTS')
    expect(assetUrlProblem('http://github.com/a', hosts)).toBe('uses http, not https')
    expect(assetUrlProblem('https://github.com.evil.example/a', hosts)).toMatch(/not in ASSET_HOSTS/)
    expect(assetUrlProblem('https://user:pw@github.com/a', hosts)).toBe('carries credentials')
    expect(assetUrlProblem('ftp://github.com/a', hosts)).toBe('uses ftp, not https')
    expect(assetUrlProblem('not a url', hosts)).toBe('is not a valid URL')
  })
})

describe('If-None-Match', () => {
  it('matches the exact tag, its weak form, a list and *', () => {
    expect(ifNoneMatchMatches('"a"', '"a"')).toBe(true)
    expect(ifNoneMatchMatches('W/"a"', '"a"')).toBe(true)
    expect(ifNoneMatchMatches('"b", W/"a"', '"a"')).toBe(true)
    expect(ifNoneMatchMatches('*', '"a"')).toBe(true)
    expect(ifNoneMatchMatches('"b"', '"a"')).toBe(false)
    expect(ifNoneMatchMatches(undefined, '"a"')).toBe(false)
  })
})

describe('channel computation', () => {
  const empty: ChannelPointer = { version: null, percent: 100, halted: false, haltReason: null }
  const pointers = (stable: Partial<ChannelPointer> = {}, beta: Partial<ChannelPointer> = {}): ChannelPointers => ({
    stable: { ...empty, ...stable },
    beta: { ...empty, ...beta },
  })
  const rel = (version: string, o: Partial<LiveRelease> = {}): LiveRelease => ({ version, prerelease: false, wasOnStable: false, ...o })

  it('points beta at the highest live, unyanked version', () => {
    const live = [rel('2026.1.2'), rel('2026.1.10'), rel('2026.2.0-rc.1', { prerelease: true })]
    expect(computeChannels({ live, yanked: new Set(), current: pointers(), stableFromReleases: false }).beta.version).toBe('2026.2.0-rc.1')
    expect(computeChannels({ live, yanked: new Set(['2026.2.0-rc.1']), current: pointers(), stableFromReleases: false }).beta.version).toBe('2026.1.10')
  })

  it('keeps stable where it is unless releases move it, and falls back to a version that was on stable', () => {
    const live = [rel('2026.1.1', { wasOnStable: true }), rel('2026.1.2'), rel('2026.1.3', { wasOnStable: true })]
    expect(computeChannels({ live, yanked: new Set(), current: pointers({ version: '2026.1.3' }), stableFromReleases: false }).stable.version).toBe('2026.1.3')
    const withdrawn = live.filter((r) => r.version !== '2026.1.3')
    expect(computeChannels({ live: withdrawn, yanked: new Set(), current: pointers({ version: '2026.1.3' }), stableFromReleases: false }).stable.version).toBe('2026.1.1')
    expect(computeChannels({ live: [rel('2026.1.2')], yanked: new Set(), current: pointers({ version: '2026.1.3' }), stableFromReleases: false }).stable.version).toBeNull()
  })

  it('with STABLE_FROM_RELEASES, moves stable up to the highest non-prerelease, never down', () => {
    const live = [rel('2026.1.1'), rel('2026.1.2'), rel('2026.1.3', { prerelease: true }), rel('2026.1.4-rc.1')]
    expect(computeChannels({ live, yanked: new Set(), current: pointers(), stableFromReleases: true }).stable.version).toBe('2026.1.2')
    const promoted = [...live, rel('2026.1.9', { wasOnStable: true })]
    expect(computeChannels({ live: promoted, yanked: new Set(), current: pointers({ version: '2026.1.9' }), stableFromReleases: true }).stable.version).toBe('2026.1.9')
  })

  it('resets the rollout when a channel moves to another version, and keeps it otherwise', () => {
    const current = pointers({}, { version: '2026.1.1', percent: 20, halted: true, haltReason: 'crash reports' })
    const same = computeChannels({ live: [rel('2026.1.1')], yanked: new Set(), current, stableFromReleases: false })
    expect(same.beta).toEqual({ version: '2026.1.1', percent: 20, halted: true, haltReason: 'crash reports' })
    const moved = computeChannels({ live: [rel('2026.1.1'), rel('2026.1.2')], yanked: new Set(), current, stableFromReleases: false })
    expect(moved.beta).toEqual({ version: '2026.1.2', percent: 100, halted: false, haltReason: null })
  })
})

describe('one version, any spelling, in the channels', () => {
  const rel = (version: string, o: Partial<LiveRelease> = {}): LiveRelease => ({ version, prerelease: false, wasOnStable: false, ...o })
  const none: ChannelPointer = { version: null, percent: 100, halted: false, haltReason: null }

  it('a yank of any spelling removes every live twin of the version (recorded before twins were refused)', () => {
    const live = [rel('1.0.0'), rel('1.0+rebuild'), rel('0.9.0', { wasOnStable: true })]
    for (const y of ['1.0.0', 'v1.0', '01.0.0.0+x']) {
      const next = computeChannels({ live, yanked: [y], current: { stable: { ...none, version: '1.0.0' }, beta: none }, stableFromReleases: false })
      expect(next.beta.version).toBe('0.9.0')
      expect(next.stable.version).toBe('0.9.0')
    }
  })

  it('keeps stable on its version under the spelling of a release that is still live', () => {
    const current = { stable: { ...none, version: '1.0.0', percent: 30 }, beta: none }
    const next = computeChannels({ live: [rel('1.0+rebuild')], yanked: [], current, stableFromReleases: false })
    expect(next.stable).toEqual({ version: '1.0+rebuild', percent: 30, halted: false, haltReason: null })
  })
})

describe('the soak clock', () => {
  const a = (sha: string) => ({ name: 'cco-linux-x86_64.tar.gz', size: 10, sha256: sha.repeat(64), source_url: 'https://github.com/x' })
  const live = { github_id: 1, status: 'live', assets: { 'linux-x86_64': a('a') }, live_since: '2026-11-01T00:00:00Z' }

  it('keeps running while the same bytes of the same GitHub release stay live', () => {
    expect(soakClock(live, null, { github_id: 1, status: 'live', assets: { 'linux-x86_64': { ...a('a'), name: 'renamed.tar.gz' } } })).toEqual({ liveSince: live.live_since, restarted: null })
  })

  it('restarts on other bytes, another release, or a return after withdrawal; a first publication only starts it', () => {
    expect(soakClock(live, null, { github_id: 1, status: 'live', assets: { 'linux-x86_64': a('b') } }).restarted).toMatch(/^assets changed: linux-x86_64 replaced/)
    expect(soakClock(live, null, { github_id: 1, status: 'live', assets: {} }).restarted).toBe('assets changed: linux-x86_64 removed')
    expect(soakClock(null, live, { github_id: 2, status: 'live', assets: live.assets }).restarted).toBe('the version was taken over by GitHub release 2 (was 1)')
    expect(soakClock({ ...live, status: 'withdrawn' }, null, { github_id: 1, status: 'live', assets: live.assets }).restarted).toBe('published again after it was withdrawn')
    expect(soakClock(null, null, { github_id: 1, status: 'live', assets: live.assets })).toEqual({ liveSince: null, restarted: null })
    expect(soakClock(live, null, { github_id: 1, status: 'pending', assets: {} })).toEqual({ liveSince: null, restarted: null })
  })
})

describe('release assessment', () => {
  const hosts = parseAssetHosts('github.com')
  const asset = (name: string, o: Partial<GithubRelease['assets'][number]> = {}) => ({
    id: 1,
    name,
    state: 'uploaded',
    size: 10,
    digest: `sha256:${HEX}`,
    browser_download_url: `https://github.com/o/r/releases/download/v1.2.3/${name}`,
    ...o,
  })
  const release = (assets: GithubRelease['assets'], o: Partial<GithubRelease> = {}): GithubRelease => ({
    id: 5,
    tag_name: 'v1.2.3',
    draft: false,
    prerelease: false,
    body: null,
    html_url: 'https://github.com/o/r/releases/tag/v1.2.3',
    published_at: '2026-01-02T03:04:05.678Z',
    assets,
    ...o,
  })

  it('maps common asset spellings to platform keys and normalises the version and time', () => {
    const a = assessRelease(release([asset('cco-x86_64-unknown-linux-gnu.tar.gz'), asset('cco-macos-universal.zip'), asset('cco-windows-amd64.zip')]), { assetHosts: hosts, now: '2026-01-01T00:00:00Z' })
    expect(a.kind).toBe('publish')
    if (a.kind !== 'publish') return
    expect(Object.keys(a.content.assets).sort()).toEqual(['darwin-arm64', 'darwin-x86_64', 'linux-x86_64', 'windows-x86_64'])
    expect(a.content).toMatchObject({ version: '1.2.3', tag: 'v1.2.3', published_at: '2026-01-02T03:04:05Z', notes: '' })
  })

  it('refuses an empty archive and an asset still uploading does not count', () => {
    expect(assessRelease(release([asset('cco-linux-x86_64.tar.gz', { size: 0 })]), { assetHosts: hosts, now: '2026-01-01T00:00:00Z' })).toEqual({
      kind: 'refuse',
      reason: 'asset "cco-linux-x86_64.tar.gz" is empty',
    })
    expect(assessRelease(release([asset('cco-linux-x86_64.tar.gz', { state: 'starter' })]), { assetHosts: hosts, now: '2026-01-01T00:00:00Z' }).kind).toBe('refuse')
  })

  it('asks for the checksums file only when a digest is missing, and checks its host first', () => {
    const sums = asset('checksums.txt', { digest: null })
    const noDigest = asset('cco-linux-x86_64.tar.gz', { digest: null })
    expect(assessRelease(release([noDigest, sums]), { assetHosts: hosts, now: '2026-01-01T00:00:00Z' })).toEqual({
      kind: 'fetch-checksums',
      checksums: { name: 'checksums.txt', url: sums.browser_download_url },
    })
    const offHost = { ...sums, browser_download_url: 'https://evil.example/checksums.txt' }
    expect(assessRelease(release([noDigest, offHost]), { assetHosts: hosts, now: '2026-01-01T00:00:00Z' })).toMatchObject({
      kind: 'refuse',
      reason: 'checksums file "checksums.txt": download URL is on evil.example, which is not in ASSET_HOSTS',
    })
  })
})

describe('configuration', () => {
  const base = { GITHUB_REPOSITORY: 'cco-dev/cco', PUBLIC_URL: 'https://updates.example.com/', ASSET_HOSTS: 'github.com' }
  it('parses the vars with their defaults', () => {
    expect(parseConfig(base)).toEqual({
      repository: 'cco-dev/cco',
      product: 'cco',
      publicUrl: 'https://updates.example.com',
      assetHosts: [{ hostname: 'github.com', port: null }],
      stableFromReleases: false,
      manifestTtlDays: 7,
      minBetaSoakHours: 0,
      oidc: null,
      githubApiUrl: 'https://api.github.com',
    })
  })

  it('turns OIDC on with an audience, defaulting the issuer, JWKS URL, repository and refs', () => {
    expect(parseConfig({ ...base, OIDC_AUDIENCE: 'https://updates.example.com' }).oidc).toEqual({
      issuer: 'https://token.actions.githubusercontent.com',
      jwksUrl: 'https://token.actions.githubusercontent.com/.well-known/jwks',
      audience: 'https://updates.example.com',
      repository: 'cco-dev/cco',
      refs: ['refs/heads/main'],
      repositoryId: null,
      workflowRefs: null,
    })
    const custom = parseConfig({
      ...base,
      OIDC_AUDIENCE: 'cco',
      OIDC_ISSUER: 'https://oidc.example/',
      OIDC_REPOSITORY: 'cco-dev/infra',
      OIDC_REFS: 'refs/heads/main, refs/tags/v*',
      OIDC_REPOSITORY_ID: ' 123456789 ',
      OIDC_WORKFLOW_REFS: 'cco-dev/infra/.github/workflows/promote.yml@refs/heads/main, cco-dev/infra/.github/workflows/release-*',
    })
    expect(custom.oidc).toMatchObject({
      issuer: 'https://oidc.example/',
      jwksUrl: 'https://oidc.example/.well-known/jwks',
      repository: 'cco-dev/infra',
      refs: ['refs/heads/main', 'refs/tags/v*'],
      repositoryId: '123456789',
      workflowRefs: ['cco-dev/infra/.github/workflows/promote.yml@refs/heads/main', 'cco-dev/infra/.github/workflows/release-*'],
    })
  })

  it('names the var and the expected form in each error', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ GITHUB_REPOSITORY: 'just-a-name' }, /^var GITHUB_REPOSITORY must be "owner\/name"/],
      [{ PUBLIC_URL: 'updates.example.com' }, /^var PUBLIC_URL must be the broker's public origin/],
      [{ ASSET_HOSTS: ' , ' }, /^var ASSET_HOSTS must list at least one host/],
      [{ ASSET_HOSTS: 'github.com/path' }, /^var ASSET_HOSTS: "github.com\/path" is not a host or host:port/],
      [{ STABLE_FROM_RELEASES: 'maybe' }, /^var STABLE_FROM_RELEASES must be "true" or "false"/],
      [{ MANIFEST_TTL_DAYS: '0' }, /^var MANIFEST_TTL_DAYS must be a number/],
      [{ OIDC_AUDIENCE: 'x', OIDC_REFS: 'main' }, /^var OIDC_REFS: "main" is not a ref/],
      [{ OIDC_AUDIENCE: 'x', OIDC_REFS: 'refs/*/main' }, /^var OIDC_REFS: "refs\/\*\/main" is not a ref/],
      [{ OIDC_AUDIENCE: 'x', OIDC_REPOSITORY: 'nope' }, /^var OIDC_REPOSITORY must be "owner\/name"/],
      [{ OIDC_AUDIENCE: 'x', OIDC_JWKS_URL: 'ftp://x' }, /^var OIDC_JWKS_URL must be an https URL/],
      [{ GITHUB_API_URL: 'not a url' }, /^var GITHUB_API_URL must be an https URL/],
    ]
    for (const [vars, message] of cases) {
      let err: unknown
      try {
        parseConfig({ ...base, ...vars })
      } catch (e) {
        err = e
      }
      expect(err, JSON.stringify(vars)).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toMatch(message)
    }
  })
})

describe('manifest size', () => {
  const payload: ManifestPayload = {
    schema: 1,
    product: 'cco',
    channel: 'beta',
    seq: 1,
    issued_at: '2026-11-01T00:00:00Z',
    expires_at: '2026-11-08T00:00:00Z',
    release: null,
    rollout: { percent: 100, halted: false },
    yanked: [
      { version: '2026.1.2', reason: 'a'.repeat(1000) },
      { version: '2026.1.1', reason: 'short' },
    ],
  }

  it('cuts yank reasons in proportion to the overshoot, by at least a tenth, keeping every version', () => {
    const cut = shrinkYankReasons(payload, 200_000, 65_536)!
    expect(cut.yanked.map((y) => [y.version, y.reason.length])).toEqual([
      ['2026.1.2', Math.floor(1000 * (65_536 / 200_000) * 0.9)],
      ['2026.1.1', 5],
    ])
    // Barely over the cap: still cut by a tenth, so that repeated calls converge.
    const slight = shrinkYankReasons(payload, 65_537, 65_536)!.yanked[0]!.reason.length
    expect(slight).toBeLessThanOrEqual(900)
    expect(slight).toBeGreaterThan(890)
  })

  it('gives up when every reason is already empty', () => {
    expect(shrinkYankReasons({ ...payload, yanked: [{ version: '2026.1.1', reason: '' }] }, 70_000, 65_536)).toBeNull()
    expect(shrinkYankReasons({ ...payload, yanked: [] }, 70_000, 65_536)).toBeNull()
  })
})
