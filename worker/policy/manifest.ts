// Channel state → the manifest payload (contract/README.md). The content (everything but seq and the
// two timestamps) is built first: its hash decides whether a channel changed and so needs a
// new seq. The payload is validated against the contract's schema before anyone signs it.
import { firstIssue } from '../../contract/issues.ts'
import {
  MANIFEST_SCHEMA_VERSION,
  ManifestPayloadSchema,
  truncateUtf8,
  utf8Length,
  type Asset,
  type Channel,
  type ManifestPayload,
  type Release,
  type Yanked,
} from '../../contract/manifest.ts'
import type { Platform } from '../../contract/platform.ts'
import {
  RELEASE_MANIFEST_SCHEMA_VERSION,
  RELEASE_STATUS_LIVE,
  ReleaseManifestPayloadSchema,
  type ReleaseManifestPayload,
} from '../../contract/release-manifest.ts'
import { compareVersions } from '../../contract/version.ts'
import type { RecordedDelta, ReleaseContent } from './assess-release.ts'
import type { ChannelPointer } from './channels.ts'

export type ManifestContent = Omit<ManifestPayload, 'seq' | 'issued_at' | 'expires_at'>

export interface ContentOptions {
  product: string
  channel: Channel
  pointer: ChannelPointer
  /** The release the pointer names (null when the channel has none). */
  release: ReleaseContent | null
  yanked: readonly Yanked[]
  publicUrl: string
}

/**
 * The broker route that serves (redirects to) an asset, so hosts need one allowed host. The
 * sha256 is part of the URL: a URL always names the same bytes (the mirror serves it as
 * immutable), and an archive replaced under the same name gets a new URL.
 */
export function assetUrl(publicUrl: string, version: string, sha256: string, name: string): string {
  return `${publicUrl}/v1/assets/${encodeURIComponent(version)}/${sha256}/${encodeURIComponent(name)}`
}

/**
 * A recorded archive as a manifest's (or release statement's) asset entry, with `binary` when
 * its differential assets were recorded: the binary's size and sha256 from its block map, and
 * the block map and pack by the same content-addressed URLs as the archive.
 */
export function manifestAsset(publicUrl: string, version: string, a: { name: string; size: number; sha256: string; delta?: RecordedDelta }): Asset {
  const entry: Asset = { name: a.name, url: assetUrl(publicUrl, version, a.sha256, a.name), size: a.size, sha256: a.sha256 }
  if (a.delta) {
    const ref = (f: RecordedDelta['blockmap']) => ({ url: assetUrl(publicUrl, version, f.sha256, f.name), size: f.size, sha256: f.sha256 })
    entry.binary = { size: a.delta.binary.size, sha256: a.delta.binary.sha256, blockmap: ref(a.delta.blockmap), pack: ref(a.delta.pack) }
  }
  return entry
}

export function manifestContent(o: ContentOptions): ManifestContent {
  let release: Release | null = null
  if (o.release) {
    const assets: Release['assets'] = {}
    for (const [platform, a] of Object.entries(o.release.assets) as [Platform, NonNullable<ReleaseContent['assets'][Platform]>][]) {
      assets[platform] = manifestAsset(o.publicUrl, o.release.version, a)
    }
    release = {
      version: o.release.version,
      tag: o.release.tag,
      published_at: o.release.published_at,
      notes: o.release.notes,
      notes_url: o.release.notes_url,
      assets,
    }
  }
  return {
    schema: MANIFEST_SCHEMA_VERSION,
    product: o.product,
    channel: o.channel,
    release,
    rollout: { percent: o.pointer.percent, halted: o.pointer.halted },
    // Newest first, so that a reader sees the most relevant entries at the top.
    yanked: [...o.yanked].sort((a, b) => compareVersions(b.version, a.version)).map((y) => ({ version: y.version, reason: y.reason })),
  }
}

/** The content in a fixed serialization, for hashing (key order is fixed by construction). */
export function contentKey(content: ManifestContent): string {
  return JSON.stringify(content)
}

export interface Issue {
  seq: number
  issuedAt: string
  expiresAt: string
}

/** The full payload in the contract's field order; throws when it does not satisfy the contract. */
export function manifestPayload(content: ManifestContent, issue: Issue): ManifestPayload {
  const payload: ManifestPayload = {
    schema: content.schema,
    product: content.product,
    channel: content.channel,
    seq: issue.seq,
    issued_at: issue.issuedAt,
    expires_at: issue.expiresAt,
    release: content.release,
    rollout: content.rollout,
    yanked: content.yanked,
  }
  const checked = ManifestPayloadSchema.safeParse(payload)
  if (!checked.success) throw new Error(`manifest payload violates the contract at ${firstIssue(checked.error)}`)
  return payload
}

/**
 * The same payload with shorter notes, for a signed manifest over the 64 KiB cap: notes are
 * at most 16 KiB of UTF-8, but JSON escaping (up to 6×) and base64url (4/3) can blow them up.
 * Cuts the notes in proportion to the overshoot, and by at least a tenth, so that repeated
 * calls converge; `notes_url` still points at the full text. Null when there is nothing to cut.
 */
export function shrinkNotes(payload: ManifestPayload, signedBytes: number, maxBytes: number): ManifestPayload | null {
  const notes = payload.release?.notes ?? ''
  if (!payload.release || notes === '') return null
  const target = Math.floor(utf8Length(notes) * Math.min(0.9, (maxBytes / signedBytes) * 0.9))
  return { ...payload, release: { ...payload.release, notes: truncateUtf8(notes, target) } }
}

/**
 * The same payload with every yank reason cut to a shorter common length, for a manifest still
 * over the cap once the notes are gone: reasons are up to 1 KiB and can grow six-fold in JSON,
 * so many yanks can fill the cap on their own. Only a change that is not a yank may cut them
 * (a yank that does not fit is refused instead), so that such a manifest can still be
 * re-signed before it expires; the yanked versions themselves are never dropped. Cuts in
 * proportion to the overshoot, and by at least a tenth; null when every reason is empty.
 */
export function shrinkYankReasons(payload: ManifestPayload, signedBytes: number, maxBytes: number): ManifestPayload | null {
  const longest = Math.max(0, ...payload.yanked.map((y) => utf8Length(y.reason)))
  if (longest === 0) return null
  const target = Math.floor(longest * Math.min(0.9, (maxBytes / signedBytes) * 0.9))
  return { ...payload, yanked: payload.yanked.map((y) => ({ version: y.version, reason: truncateUtf8(y.reason, target) })) }
}

/** What a release statement is built from: a live release as the broker recorded it. */
export interface StatementRelease {
  version: string
  tag: string
  published_at: string
  notes_url: string | null
  assets: Partial<Record<Platform, { name: string; size: number; sha256: string; delta?: RecordedDelta }>>
}

/**
 * A live release → the payload of its signed statement (`GET /v1/releases/{version}/manifest`,
 * contract/release-manifest.ts): the same asset entries, with the same content-addressed
 * URLs, as a channel manifest naming this release would carry. Only live releases that are
 * not yanked get one (the route answers the others with an error), so `status` is `live`.
 * Throws when it does not satisfy the contract.
 */
export function releaseManifestPayload(r: StatementRelease, o: { product: string; publicUrl: string; issuedAt: string; expiresAt: string }): ReleaseManifestPayload {
  const assets: ReleaseManifestPayload['assets'] = {}
  for (const [platform, a] of Object.entries(r.assets)) {
    if (a) assets[platform] = manifestAsset(o.publicUrl, r.version, a)
  }
  const payload: ReleaseManifestPayload = {
    schema: RELEASE_MANIFEST_SCHEMA_VERSION,
    product: o.product,
    version: r.version,
    tag: r.tag,
    published_at: r.published_at,
    status: RELEASE_STATUS_LIVE,
    issued_at: o.issuedAt,
    expires_at: o.expiresAt,
    notes_url: r.notes_url,
    assets,
  }
  const checked = ReleaseManifestPayloadSchema.safeParse(payload)
  if (!checked.success) throw new Error(`release statement violates the contract at ${firstIssue(checked.error)}`)
  return payload
}
