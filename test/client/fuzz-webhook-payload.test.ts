// The broker's webhook payload policy (worker/policy/github-release.ts, assess-release.ts,
// checksums.ts; pure, so they run here in Node) on random and mutated `release` payloads built
// from the real GitHub examples: parsing never throws (a zod failure or a refusal result is
// the only "no"), asset URLs off the allow-list never become assets, every published asset
// has a 64-hex sha256, and a published release always makes a manifest the contract accepts.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AssetSchema, ManifestPayloadSchema, NOTES_MAX_BYTES, utf8Length } from '../../contract/manifest.ts'
import { PLATFORMS, platformsForAssetName, type Platform } from '../../contract/platform.ts'
import { parseVersion } from '../../contract/version.ts'
import type { AssetHost } from '../../worker/config.ts'
import { assessRelease, type Assessment } from '../../worker/policy/assess-release.ts'
import { parseChecksums } from '../../worker/policy/checksums.ts'
import { GithubReleaseSchema, WebhookEnvelopeSchema } from '../../worker/policy/github-release.ts'
import { manifestContent, manifestPayload } from '../../worker/policy/manifest.ts'
import { fuzzParams, fuzzTimeout } from '../support/fuzz-params.ts'
import { releasePayload, type FixtureAsset, type ReleaseAction } from '../../support/github.ts'
import { setPath } from '../support/fuzz-paths.ts'

const HOSTS: AssetHost[] = [
  { hostname: 'github.com', port: null },
  { hostname: 'objects.githubusercontent.com', port: null },
  { hostname: '127.0.0.1', port: '8080' },
]
const NOW = '2026-11-26T20:00:00Z'

/** The allow-list rule, restated: https (or http to loopback) on a listed host and port, no credentials. */
function onAllowList(raw: string): boolean {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return false
  }
  if (url.username !== '' || url.password !== '') return false
  if (url.protocol === 'https:' && (url.hostname === 'github.com' || url.hostname === 'objects.githubusercontent.com')) return true
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname === '127.0.0.1' && url.port === '8080'
}

// ---- generators ------------------------------------------------------------------------

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'))
const digest = fc.oneof(
  hex64.map((h) => `sha256:${h}`),
  hex64.map((h) => `sha256:${h.toUpperCase()}`),
  hex64.map((h) => `SHA256:${h}`),
  hex64.map((h) => `sha512:${h}`),
  hex64.map((h) => `sha256:${h.slice(1)}`),
  hex64.map((h) => `sha256:${h} `),
  fc.string({ maxLength: 80 }),
)
const scheme = fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', 'file://', '//', 'https:', 'https:/', 'https:\\\\', 'javascript:', ' https://', 'https:///')
const host = fc.constantFrom(
  'github.com', 'GitHub.COM', 'github.com.', 'github.com:443', 'github.com:8443', 'objects.githubusercontent.com',
  'evil.com', 'github.com.evil.com', 'evilgithub.com', 'user:pw@github.com', 'github.com@evil.com', 'evil.com@github.com',
  'evil.com\\@github.com', 'evil.com#@github.com', 'evil.com?@github.com', '127.0.0.1:8080', '127.0.0.1:9090', 'localhost:8080',
  '[::1]:8080', '127.1:8080', '0x7f.0.0.1:8080', '2130706433:8080', 'ｇｉｔｈｕｂ.com', 'git\thub.com', 'github.com%2F.evil.com',
  'xn--github-fsa.com', '', ' ',
)
const path = fc.constantFrom('/cco-dev/cco/releases/download/v2026.1.2/cco-2026.1.2-linux-x86_64.tar.gz', '/', '', '/../../x', '/a?b=c#d', '/%2e%2e/x', '\n/x', '/x y')
const url = fc.oneof({ weight: 4, arbitrary: fc.tuple(scheme, host, path).map(([s, h, p]) => s + h + p) }, fc.webUrl(), fc.string({ maxLength: 40 }))

const platformWord = fc.constantFrom(
  'linux-x86_64', 'linux-amd64', 'Linux-X64', 'linux-aarch64', 'linux-arm64', 'darwin-x86_64', 'darwin-arm64', 'macos-universal',
  'apple-darwin-aarch64', 'windows-x86_64', 'win64', 'pc-windows-msvc-x86_64', 'linux-armv7', 'linux-i686', 'linux-x86_64-darwin-arm64', 'checksums',
)
const assetName = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(platformWord, fc.constantFrom('.tar.gz', '.tgz', '.zip', '.TAR.GZ', '.txt', '', '.sig')).map(([p, ext]) => `cco-2026.1.2-${p}${ext}`) },
  fc.constantFrom('checksums.txt', 'SHA256SUMS', 'cco_checksums.txt', 'sbom.spdx.json'),
  fc.string({ minLength: 1, maxLength: 40 }),
  // Longer than a manifest allows (255): GitHub allows such names.
  fc.nat({ max: 300 }).map((n) => `cco-2026.1.2-linux-x86_64-${'x'.repeat(230 + n)}.tar.gz`),
)
const wildAsset: fc.Arbitrary<FixtureAsset> = fc.record(
  {
    name: assetName,
    url: fc.oneof(url, fc.constant('https://github.com/cco-dev/cco/releases/download/v2026.1.2/asset')),
    size: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.constantFrom(0, -1, 2 ** 53 + 2)),
    digest,
    state: fc.constantFrom('uploaded', 'uploaded', 'starter', 'open', ''),
  },
  { requiredKeys: ['name', 'url', 'size'] },
)
// What a release build uploads: a platform archive on GitHub's host, with or without a digest.
const honestAsset: fc.Arbitrary<FixtureAsset> = fc
  .record({
    platform: fc.constantFrom(...PLATFORMS, 'linux-amd64', 'macos-universal'),
    host: fc.constantFrom('https://github.com', 'https://objects.githubusercontent.com', 'http://127.0.0.1:8080', 'https://evil.example'),
    size: fc.integer({ min: 1, max: 2 ** 31 }),
    digest: fc.option(fc.oneof({ weight: 4, arbitrary: hex64.map((h) => `sha256:${h}`) }, digest), { nil: undefined }),
  })
  .map(({ platform, host, size, digest }) => {
    const name = `cco-2026.1.2-${platform}.${platform.startsWith('windows') ? 'zip' : 'tar.gz'}`
    return { name, url: `${host}/cco-dev/cco/releases/download/v2026.1.2/${name}`, size, ...(digest !== undefined ? { digest } : {}) }
  })
const checksumsAsset = fc.constantFrom<FixtureAsset>(
  { name: 'checksums.txt', url: 'https://github.com/cco-dev/cco/releases/download/v2026.1.2/checksums.txt', size: 300 },
  { name: 'SHA256SUMS', url: 'https://evil.example/SHA256SUMS', size: 300 },
)
const fixtureAsset = fc.oneof({ weight: 6, arbitrary: honestAsset }, { weight: 1, arbitrary: checksumsAsset }, { weight: 2, arbitrary: wildAsset })
const tag = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('v2026.1.2', '2026.1.2', 'v2026.11.3-beta.1', 'V1.2+build') },
  fc.constantFrom('latest', 'v', 'release-2026', 'v1.2.3.4.5.6.7.8.9', 'v1.0.0-9007199254740993'),
  fc.string({ minLength: 1, maxLength: 20 }),
)
const ACTIONS: ReleaseAction[] = ['published', 'released', 'prereleased', 'created', 'edited', 'unpublished', 'deleted']
const basePayload = fc
  .record({
    action: fc.constantFrom(...ACTIONS),
    tag,
    prerelease: fc.boolean(),
    body: fc.option(fc.oneof(fc.string({ maxLength: 100 }), fc.nat({ max: 3 }).map((n) => '€'.repeat(5000 + n * 2000))), { nil: undefined }),
    assets: fc.array(fixtureAsset, { maxLength: 6 }),
    publishedAt: fc.option(fc.constantFrom('2026-11-25T14:00:00Z', '2026-11-25', 'yesterday', '+275760-09-13T00:00:00Z', '0001-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '99999-01-01', ''), { nil: undefined }),
  })
  .map((o) => releasePayload(o))

const PATHS = [
  'action', 'repository', 'repository.full_name', 'sender', 'sender.login', 'release', 'release.id', 'release.tag_name', 'release.draft',
  'release.prerelease', 'release.body', 'release.html_url', 'release.published_at', 'release.created_at', 'release.assets',
  'release.assets.0', 'release.assets.0.id', 'release.assets.0.name', 'release.assets.0.state', 'release.assets.0.size',
  'release.assets.0.digest', 'release.assets.0.browser_download_url', 'release.assets.1.browser_download_url', '__proto__', 'release.__proto__',
]
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  url,
  digest,
  fc.constantFrom<unknown>(null, 0, -1, 1.5, 2 ** 53, '', [], {}, true, 'uploaded', 'v2026.1.2', 'x'.repeat(600)),
)
const edit = fc.record({ path: fc.constantFrom(...PATHS), value: fc.option(value, { nil: undefined }) })

/** A payload as it arrives: JSON text, mutated, parsed again (as the route does). */
const edits = fc.oneof(fc.constant([]), fc.array(edit, { minLength: 1, maxLength: 3 }))
const payload = fc.tuple(basePayload, edits).map(([base, edits]) => {
  // Generated values may be shared between runs: edit copies only.
  const p = structuredClone(base)
  for (const e of edits) setPath(p, e.path, structuredClone(e.value))
  return JSON.parse(JSON.stringify(p)) as unknown
})

// ---- invariants ------------------------------------------------------------------------

function checkAssessment(a: Assessment, tagName: string, withChecksums: boolean): void {
  switch (a.kind) {
    case 'refuse':
      expect(typeof a.reason).toBe('string')
      expect(a.reason.length).toBeGreaterThan(0)
      return
    case 'fetch-checksums':
      expect(withChecksums, 'asked for the checksums file although it was given').toBe(false)
      expect(onAllowList(a.checksums.url), `checksums URL ${a.checksums.url} is off the allow-list`).toBe(true)
      return
    case 'publish': {
      const c = a.content
      expect(parseVersion(tagName)?.text).toBe(c.version)
      expect(utf8Length(c.notes)).toBeLessThanOrEqual(NOTES_MAX_BYTES)
      const entries = Object.entries(c.assets)
      expect(entries.length).toBeGreaterThan(0)
      for (const [platform, asset] of entries) {
        expect(PLATFORMS).toContain(platform)
        expect(platformsForAssetName(asset!.name)).toContain(platform as Platform)
        expect(asset!.sha256).toMatch(/^[0-9a-f]{64}$/)
        expect(asset!.size).toBeGreaterThanOrEqual(1)
        expect(onAllowList(asset!.source_url), `asset URL ${JSON.stringify(asset!.source_url)} is off the allow-list`).toBe(true)
        // What the manifest will say about it must pass the client's schema.
        expect(AssetSchema.safeParse({ name: asset!.name, url: 'https://broker.example/x', size: asset!.size, sha256: asset!.sha256 }).success, `asset ${asset!.name}`).toBe(true)
      }
      // The broker signs a manifest for it: that must satisfy the contract (manifestPayload throws otherwise).
      const content = manifestContent({
        product: 'cco',
        channel: 'beta',
        pointer: { version: c.version, percent: 100, halted: false, haltReason: null },
        release: c,
        yanked: [],
        publicUrl: 'https://broker.example',
      })
      const m = manifestPayload(content, { seq: 1, issuedAt: NOW, expiresAt: '2026-12-03T20:00:00Z' })
      expect(ManifestPayloadSchema.safeParse(m).success).toBe(true)
    }
  }
}

/** The route's steps: envelope, then `release`; only zod failures say no. */
function parse(json: unknown) {
  const envelope = WebhookEnvelopeSchema.safeParse(json)
  if (!envelope.success) return null
  const release = GithubReleaseSchema.safeParse((json as { release?: unknown }).release)
  return release.success ? release.data : null
}

describe('release webhook payloads', () => {
  it(
    'parse without throwing, whatever the JSON',
    () => {
      fc.assert(
        fc.property(fc.oneof(payload, fc.jsonValue()), (json) => {
          parse(json)
        }),
        fuzzParams(),
      )
    },
    fuzzTimeout(1),
  )

  it(
    'assess to publish / refuse / fetch-checksums, and what is published is safe to sign and serve',
    () => {
      let published = 0
      fc.assert(
        fc.property(payload, fc.option(fc.string({ maxLength: 200 }), { nil: undefined }), (json, noise) => {
          const release = parse(json)
          if (!release) return
          const first = assessRelease(release, { assetHosts: HOSTS, now: NOW })
          checkAssessment(first, release.tag_name, false)
          if (first.kind === 'publish') published++
          if (first.kind !== 'fetch-checksums') return
          // The checksums file as fetched: lines for some assets (right, wrong or upper-case
          // digests, `*` and `./` forms, duplicates) and noise.
          const lines = release.assets.flatMap((a, i) => {
            const own = /^sha256:([0-9a-fA-F]{64})$/i.exec(a.digest ?? '')?.[1]
            const h = own ?? Buffer.from(`${i}`.padEnd(32, 'x')).toString('hex')
            return i % 3 === 2 ? [] : [`${i % 2 ? h.toUpperCase() : h} ${i % 2 ? '*' : ' '}${i % 4 === 1 ? './' : ''}${a.name}`]
          })
          const text = [...lines, noise ?? ''].join(noise && noise.length % 2 ? '\r\n' : '\n')
          const second = assessRelease(release, { assetHosts: HOSTS, now: NOW, checksums: { name: first.checksums.name, text } })
          checkAssessment(second, release.tag_name, true)
          if (second.kind === 'publish') published++
        }),
        fuzzParams(3),
      )
      // The generators do reach the interesting branch.
      if (fuzzParams().numRuns! >= 100) expect(published).toBeGreaterThan(0)
    },
    fuzzTimeout(1, 3),
  )

  it(
    'choose the same assets whatever order the payload lists them in',
    () => {
      fc.assert(
        fc.property(payload, fc.nat(), (json, seed) => {
          const release = parse(json)
          if (!release) return
          fc.pre(new Set(release.assets.map((a) => a.name)).size === release.assets.length)
          const shuffled = [...release.assets]
          for (let i = shuffled.length - 1, s = seed; i > 0; i--, s = Math.floor(s / 7) + 13 * i) {
            const j = s % (i + 1)
            ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
          }
          expect(assessRelease({ ...release, assets: shuffled }, { assetHosts: HOSTS, now: NOW })).toEqual(assessRelease(release, { assetHosts: HOSTS, now: NOW }))
        }),
        fuzzParams(),
      )
    },
    fuzzTimeout(1),
  )

  it(
    'read checksums files of any content as name → 64 lowercase hex',
    () => {
      const line = fc.oneof(
        fc.tuple(hex64, fc.constantFrom(' ', '*'), fc.string({ minLength: 1, maxLength: 20 })).map(([h, m, n]) => `${h} ${m}${n}`),
        fc.string({ maxLength: 90 }),
      )
      fc.assert(
        fc.property(fc.array(line, { maxLength: 10 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
          for (const [name, h] of parseChecksums(lines.join(eol))) {
            expect(h).toMatch(/^[0-9a-f]{64}$/)
            expect(typeof name).toBe('string')
          }
        }),
        fuzzParams(),
      )
    },
    fuzzTimeout(1),
  )
})
