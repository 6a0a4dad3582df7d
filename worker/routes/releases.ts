// Release history: `GET /v1/releases` (newest first, with status and any refusal reason) and
// `GET /v1/releases/{version}` (with the notes). Informational and unsigned.
import { Hono } from 'hono'
import type { ReleaseDetail, ReleaseList, ReleaseView } from '../../contract/api.ts'
import type { AppEnv } from '../app-env.ts'
import { brokerStub } from '../broker/stub.ts'
import type { StoredRelease } from '../broker/types.ts'
import { notFound } from '../errors.ts'
import { keepAlive, readThrough } from '../origin-reads.ts'
import { assetUrl } from '../policy/manifest.ts'

export const releases = new Hono<AppEnv>()

// Anyone may ask: reads of the Durable Object are shared within the isolate (origin-reads.ts).
releases.get('/', async (c) => {
  const product = c.var.config.product
  const { value: list } = await readThrough(`${product}:releases`, () => brokerStub(c.env, product).listReleases(), keepAlive(c))
  return c.json({ releases: list.map((r) => releaseView(r, c.var.config.publicUrl)) } satisfies ReleaseList)
})

releases.get('/:version', async (c) => {
  const version = c.req.param('version')
  const product = c.var.config.product
  const { value: release } = await readThrough(`${product}:release:${version}`, () => brokerStub(c.env, product).getRelease(version), keepAlive(c))
  if (!release) throw notFound(`release ${JSON.stringify(version)}`)
  return c.json({ ...releaseView(release, c.var.config.publicUrl), notes: release.notes } satisfies ReleaseDetail)
})

/** A release as the API lists it (the admin API's yank and unyank answer with it too). */
export function releaseView(r: StoredRelease, publicUrl: string): ReleaseView {
  return {
    version: r.version,
    tag: r.tag,
    status: r.status,
    reason: r.reason,
    prerelease: r.prerelease,
    published_at: r.published_at,
    first_seen_at: r.first_seen_at,
    updated_at: r.updated_at,
    channels: r.channels,
    yanked: r.yanked,
    live_since: r.live_since,
    pending: r.pending,
    mirror: r.mirror,
    notes_url: r.notes_url,
    github_release_id: r.github_id,
    assets: Object.fromEntries(
      Object.entries(r.assets).map(([platform, a]) => [
        platform,
        { name: a.name, size: a.size, sha256: a.sha256, url: assetUrl(publicUrl, r.version, a.sha256, a.name), source_url: a.source_url },
      ]),
    ),
  }
}
