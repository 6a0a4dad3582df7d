// Decides what a GitHub release becomes: a publishable release (version, notes, one asset with
// a verified sha256 per platform, and its differential assets when the release has them), a
// refusal with a reason a person can act on, or "fetch the checksums file first" / "fetch the
// block maps first". Pure: the caller fetches those files and passes them back.
import { BLOCKMAP_MAX_BYTES } from '../../contract/blockmap.ts'
import { ASSET_NAME_MAX_LENGTH, NOTES_MAX_BYTES, truncateUtf8 } from '../../contract/manifest.ts'
import { PLATFORMS, platformsForAssetName, type Platform } from '../../contract/platform.ts'
import { parseVersion } from '../../contract/version.ts'
import type { AssetHost } from '../config.ts'
import { checkAssetUrl } from './asset-hosts.ts'
import { parseChecksums, pickChecksumsFile, sha256FromDigest } from './checksums.ts'
import { neutralizeNotes } from './control-chars.ts'
import { checkBlockMap, deltaAssetsFor, type FetchedBlockMap } from './delta-assets.ts'
import type { GithubAsset, GithubRelease } from './github-release.ts'
import { checkUrl } from './url-policy.ts'

/** A release asset as recorded: `source_url` is GitHub's download URL. */
export interface RecordedFile {
  name: string
  size: number
  sha256: string
  source_url: string
}

/**
 * An archive's differential assets (contract/blockmap.ts): its block map and chunk pack, and
 * the binary's size and sha256 as its block map states them. Recorded only once the block map
 * was fetched and checked, so `binary` is always there.
 */
export interface RecordedDelta {
  blockmap: RecordedFile
  pack: RecordedFile
  binary: { size: number; sha256: string }
}

/** One platform's archive as recorded, with its differential assets when the release has them. */
export interface RecordedAsset extends RecordedFile {
  delta?: RecordedDelta
}

/** Every file an asset entry stands for: the archive, then its block map and pack. */
export function recordedFiles(asset: RecordedAsset): RecordedFile[] {
  const archive = { name: asset.name, size: asset.size, sha256: asset.sha256, source_url: asset.source_url }
  return asset.delta ? [archive, asset.delta.blockmap, asset.delta.pack] : [archive]
}

/** What a live release serves; stored in the Durable Object and put into manifests. */
export interface ReleaseContent {
  version: string
  tag: string
  prerelease: boolean
  published_at: string
  notes: string
  notes_url: string | null
  assets: Partial<Record<Platform, RecordedAsset>>
}

/** Which archive was taken for a platform when the release offered more than one. */
export interface AssetChoice {
  platform: Platform
  chosen: string
  candidates: string[]
}

/** A file the assessment needs downloaded (its URL checked against ASSET_HOSTS). */
export interface FileRef {
  name: string
  url: string
}
export type ChecksumsRef = FileRef

export type Assessment =
  | { kind: 'publish'; content: ReleaseContent; choices: AssetChoice[] }
  | { kind: 'refuse'; reason: string }
  | { kind: 'fetch-checksums'; checksums: ChecksumsRef }
  /** Every block map of the release, by name (once each), to be fetched and passed back. */
  | { kind: 'fetch-blockmaps'; blockmaps: FileRef[] }

export interface AssessOptions {
  assetHosts: readonly AssetHost[]
  /** The release's checksums file, once fetched (see `fetch-checksums`). */
  checksums?: { name: string; text: string }
  /** The release's block maps by name, once fetched (see `fetch-blockmaps`). */
  blockmaps?: Readonly<Record<string, FetchedBlockMap>>
  /** Used as `published_at` when GitHub sent none (ISO 8601). */
  now: string
}

export function assessRelease(release: GithubRelease, options: AssessOptions): Assessment {
  // A control character in any kept field (github-release.ts screens every payload): refused
  // before anything else, so that such a value is never recorded as a release's content.
  if (release.ingest_refusal) return refuse(release.ingest_refusal)
  const version = parseVersion(release.tag_name)
  if (!version) return refuse(`tag ${JSON.stringify(release.tag_name)} is not a version (expected e.g. v2026.11.3)`)

  // Assets still uploading (`starter`) or failed are not offered; a later `edited` brings them.
  const uploaded = release.assets.filter((a) => a.state === 'uploaded')
  const choices = choosePlatformAssets(uploaded)
  if (choices.length === 0) {
    return refuse('no uploaded asset maps to a platform (expected archives such as cco-<version>-linux-x86_64.tar.gz)')
  }

  // The differential assets of each chosen archive: both or neither (one alone is a broken upload).
  const deltas = new Map<GithubAsset, { blockmap: GithubAsset; pack: GithubAsset }>()
  for (const { asset } of choices) {
    const found = deltaAssetsFor(asset.name, uploaded)
    if (found.kind === 'one') {
      return refuse(`asset ${JSON.stringify(found.present.name)} has no ${JSON.stringify(found.missing)} beside it (a differential update needs both the block map and the chunk pack of ${JSON.stringify(asset.name)})`)
    }
    if (found.kind === 'both') deltas.set(asset, found)
  }
  const files = [...new Set([...choices.map((c) => c.asset), ...[...deltas.values()].flatMap((d) => [d.blockmap, d.pack])])]

  // The URL as recorded (and later sent as a redirect's Location): the parser's normalized,
  // ASCII-only form of a URL that passed the rule.
  const sourceUrls = new Map<GithubAsset, string>()
  for (const asset of files) {
    const checked = checkAssetUrl(asset.browser_download_url, options.assetHosts)
    if (!checked.ok) return refuse(`asset ${JSON.stringify(asset.name)}: download URL ${checked.problem}`)
    sourceUrls.set(asset, checked.url.href)
    if (asset.size < 1) return refuse(`asset ${JSON.stringify(asset.name)} is empty`)
    // Published, it would make every manifest of the channel fail the contract's schema.
    if (asset.name.length > ASSET_NAME_MAX_LENGTH) return refuse(`asset ${JSON.stringify(asset.name)}: the name is longer than ${ASSET_NAME_MAX_LENGTH} characters`)
  }
  for (const { blockmap } of deltas.values()) {
    if (blockmap.size > BLOCKMAP_MAX_BYTES) return refuse(`block map ${JSON.stringify(blockmap.name)} is ${blockmap.size} bytes, over the ${BLOCKMAP_MAX_BYTES}-byte cap`)
  }

  // A digest is mandatory for every offered file: GitHub's own, else the checksums file's.
  const needChecksums = files.some((a) => sha256FromDigest(a.digest) === null)
  const checksumsAsset = pickChecksumsFile(uploaded)
  let listed: Map<string, string> | null = null
  if (options.checksums) {
    listed = parseChecksums(options.checksums.text)
  } else if (needChecksums) {
    const missing = files.find((a) => sha256FromDigest(a.digest) === null)!.name
    if (!checksumsAsset) return refuse(`asset ${JSON.stringify(missing)} has no sha256 digest and the release has no checksums file`)
    const checked = checkAssetUrl(checksumsAsset.browser_download_url, options.assetHosts)
    if (!checked.ok) return refuse(`checksums file ${JSON.stringify(checksumsAsset.name)}: download URL ${checked.problem}`)
    return { kind: 'fetch-checksums', checksums: { name: checksumsAsset.name, url: checked.url.href } }
  }

  const recorded = new Map<GithubAsset, RecordedFile>()
  for (const asset of files) {
    const own = sha256FromDigest(asset.digest)
    const fromFile = listed?.get(asset.name) ?? null
    const file = JSON.stringify(options.checksums?.name ?? 'checksums file')
    if (own && fromFile && own !== fromFile) {
      return refuse(`asset ${JSON.stringify(asset.name)}: GitHub's digest and ${file} disagree`)
    }
    const sha256 = own ?? fromFile
    if (!sha256) return refuse(`asset ${JSON.stringify(asset.name)} has no sha256 digest and ${file} has no line for it`)
    recorded.set(asset, { name: asset.name, size: asset.size, sha256, source_url: sourceUrls.get(asset)! })
  }

  // The binary's size and sha256 come from the block map itself: fetched (off the webhook's
  // path), checked against its digest and against the release, before anything is published.
  if (deltas.size > 0 && !options.blockmaps) {
    const names = [...new Set([...deltas.values()].map((d) => d.blockmap))]
    return { kind: 'fetch-blockmaps', blockmaps: names.map((b) => ({ name: b.name, url: sourceUrls.get(b)! })) }
  }
  const assets: Partial<Record<Platform, RecordedAsset>> = {}
  for (const { platform, asset } of choices) {
    const entry: RecordedAsset = { ...recorded.get(asset)! }
    const delta = deltas.get(asset)
    if (delta) {
      const blockmap = recorded.get(delta.blockmap)!
      const pack = recorded.get(delta.pack)!
      const fetched = options.blockmaps?.[blockmap.name]
      if (!fetched) return refuse(`block map ${JSON.stringify(blockmap.name)} was not fetched`)
      const checked = checkBlockMap(fetched, { name: blockmap.name, sha256: blockmap.sha256, version: version.text, platforms: platformsForAssetName(asset.name), pack })
      if (!checked.ok) return refuse(checked.problem)
      entry.delta = { blockmap, pack, binary: checked.binary }
    }
    assets[platform] = entry
  }

  return {
    kind: 'publish',
    content: {
      version: version.text,
      tag: release.tag_name,
      prerelease: release.prerelease,
      published_at: isoSeconds(release.published_at) ?? isoSeconds(options.now)!,
      notes: truncateUtf8(neutralizeNotes(release.body ?? ''), NOTES_MAX_BYTES),
      notes_url: httpUrlOrNull(release.html_url),
      assets,
    },
    choices: choices
      .filter((c) => c.candidates.length > 1)
      .map((c) => ({ platform: c.platform, chosen: c.asset.name, candidates: c.candidates })),
  }
}

function refuse(reason: string): Assessment {
  return { kind: 'refuse', reason }
}

interface PlatformPick {
  platform: Platform
  asset: GithubAsset
  candidates: string[]
}

/**
 * One archive per platform. With several candidates, the one whose name contains the
 * canonical platform key wins (`…-linux-x86_64.tar.gz` over `…-linux-amd64.tar.gz`), then the
 * lexicographically first name, so that the choice never depends on payload order.
 */
export function choosePlatformAssets(assets: readonly GithubAsset[]): PlatformPick[] {
  const picks: PlatformPick[] = []
  for (const platform of PLATFORMS) {
    const candidates = assets.filter((a) => platformsForAssetName(a.name).includes(platform))
    if (candidates.length === 0) continue
    const byName = [...candidates].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const asset = byName.find((a) => a.name.toLowerCase().includes(platform)) ?? byName[0]!
    picks.push({ platform, asset, candidates: byName.map((a) => a.name) })
  }
  return picks
}

/** An ISO 8601 timestamp as `YYYY-MM-DDTHH:MM:SSZ`, or null when it does not parse. */
export function isoSeconds(input: string | number | null | undefined): string | null {
  if (input === null || input === undefined || input === '') return null
  const ms = typeof input === 'number' ? input : Date.parse(input)
  if (!Number.isFinite(ms)) return null
  const iso = new Date(ms).toISOString()
  // Years outside 0000–9999 come out expanded (`+275760-…`, `-000001-…`): not RFC 3339, and
  // a manifest carrying one fails the contract.
  if (!/^\d{4}-/.test(iso)) return null
  return iso.replace(/\.\d{3}Z$/, 'Z')
}

/** The release page's URL for the manifest's `notes_url`, when it follows the URL rule; else none. */
function httpUrlOrNull(raw: string | null | undefined): string | null {
  if (!raw) return null
  const checked = checkUrl(raw)
  return checked.ok ? checked.url.href : null
}
