// Real GitHub `release` webhook payloads (from @octokit/webhooks-examples) with our fields put
// in, and the `X-Hub-Signature-256` value for a body. Runs in workerd and in Node alike, so it
// imports nothing from `cloudflare:*` or `node:*`.
import created from './fixtures/github/release-created.json' with { type: 'json' }
import deleted from './fixtures/github/release-deleted.json' with { type: 'json' }
import edited from './fixtures/github/release-edited.json' with { type: 'json' }
import prereleased from './fixtures/github/release-prereleased.json' with { type: 'json' }
import published from './fixtures/github/release-published.json' with { type: 'json' }
import released from './fixtures/github/release-released.json' with { type: 'json' }

export interface FixtureAsset {
  name: string
  url: string
  size: number
  /** GitHub's own digest, `sha256:<hex>`; leave out to make the broker use the checksums file. */
  digest?: string
  /** GitHub's upload state; `uploaded` unless given. */
  state?: string
}

export type ReleaseAction = 'published' | 'released' | 'prereleased' | 'created' | 'edited' | 'unpublished' | 'deleted'

export interface ReleasePayloadOptions {
  action: ReleaseAction
  tag: string
  prerelease?: boolean
  /** Defaults to false, except for `unpublished` (GitHub turns the release back into a draft). */
  draft?: boolean
  body?: string
  assets?: FixtureAsset[]
  /** `owner/name`; default 'cco-dev/cco' (wrangler.toml's GITHUB_REPOSITORY). */
  repository?: string
  /** GitHub's numeric release id; default derived from the tag so that one tag keeps one id. */
  releaseId?: number
  publishedAt?: string
}

export const DEFAULT_REPOSITORY = 'cco-dev/cco'

// The examples have no `unpublished` payload; GitHub sends the same shape as `published`.
const FIXTURES: Record<ReleaseAction, unknown> = {
  published,
  released,
  prereleased,
  created,
  edited,
  deleted,
  unpublished: published,
}
const FIXTURE_REPOSITORY = 'Codertocat/Hello-World'
const FIXTURE_OWNER = 'Codertocat'

/** A stable positive id for a tag (FNV-1a), so repeated payloads of one release agree. */
function idForTag(tag: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < tag.length; i++) {
    h ^= tag.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return 10_000_000 + (h % 1_000_000_000)
}

/** The `content_type` GitHub records for an upload of this name (from its extension). */
function contentType(name: string): string {
  if (name.endsWith('.zip')) return 'application/zip'
  if (name.endsWith('.txt')) return 'text/plain'
  if (name.endsWith('.json')) return 'application/json'
  if (name.endsWith('.chunks')) return 'application/octet-stream'
  return 'application/gzip'
}

/** A real payload shape from the fixtures with the given fields replaced. */
export function releasePayload(o: ReleasePayloadOptions): Record<string, unknown> {
  const repository = o.repository ?? DEFAULT_REPOSITORY
  const [owner = repository, name = repository] = repository.split('/')
  // Re-point every URL of the example at our repository (by text, so nested URLs follow).
  const text = JSON.stringify(FIXTURES[o.action])
    .split(FIXTURE_REPOSITORY)
    .join(repository)
    .split(`"login":"${FIXTURE_OWNER}"`)
    .join(`"login":${JSON.stringify(owner)}`)
  const payload = JSON.parse(text) as Record<string, any>
  payload.action = o.action

  const releaseId = o.releaseId ?? idForTag(o.tag)
  const api = `https://api.github.com/repos/${repository}`
  const release = payload.release as Record<string, any>
  const uploader = release.author
  Object.assign(release, {
    url: `${api}/releases/${releaseId}`,
    assets_url: `${api}/releases/${releaseId}/assets`,
    upload_url: `https://uploads.github.com/repos/${repository}/releases/${releaseId}/assets{?name,label}`,
    html_url: `https://github.com/${repository}/releases/tag/${o.tag}`,
    id: releaseId,
    tag_name: o.tag,
    name: o.tag,
    draft: o.draft ?? o.action === 'unpublished',
    prerelease: o.prerelease ?? false,
    published_at: o.publishedAt ?? release.published_at,
    tarball_url: `${api}/tarball/${o.tag}`,
    zipball_url: `${api}/zipball/${o.tag}`,
    body: o.body ?? null,
    assets: (o.assets ?? []).map((a, i) => {
      const assetId = releaseId * 100 + i + 1
      const asset: Record<string, unknown> = {
        url: `${api}/releases/assets/${assetId}`,
        id: assetId,
        node_id: `RA_${assetId}`,
        name: a.name,
        label: null,
        uploader,
        content_type: contentType(a.name),
        state: a.state ?? 'uploaded',
        size: a.size,
        download_count: 0,
        created_at: release.created_at,
        updated_at: release.created_at,
        browser_download_url: a.url,
      }
      if (a.digest !== undefined) asset.digest = a.digest
      return asset
    }),
  })

  const repo = payload.repository as Record<string, any>
  repo.full_name = repository
  repo.name = name
  return payload
}

/** `sha256=<hex>`: the HMAC-SHA256 of the body under the webhook secret, via WebCrypto. */
export async function signBody(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder()
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, enc.encode(body)))
  return 'sha256=' + Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')
}
