// GitHub's side of a release, for tests and the demo: the archive holding a cco binary goes on
// the stand-in download host at GitHub's path, and a signed `release published` webhook with
// the asset's digest goes to the broker.
import { readFileSync } from 'node:fs'
import { canonicalAssetName, type Platform } from '../contract/platform.ts'
import { currentPlatform } from '../client/src/context.ts'
import { releaseTarGz } from './archives.ts'
import type { DevBroker } from './broker.ts'
import { releasePayload } from './github.ts'
import type { ReleaseServer } from './release-server.ts'
import { sha256 } from './signed-manifest.ts'

export interface AnnounceOptions {
  version: string
  /** The binary to pack (a path or its bytes). */
  binary: string | Buffer
  body?: string
  platform?: Platform
}

export interface Announced {
  /** The broker's answer to the webhook. */
  hook: Response
  /** Where the download host serves the archive (to check that hosts fetched it). */
  downloadPath: string
}

/** Serves the archive and posts the webhook. */
export async function announceRelease(broker: DevBroker, downloads: ReleaseServer, o: AnnounceOptions): Promise<Announced> {
  const platform = o.platform ?? currentPlatform()
  if (!platform) throw new Error(`no cco platform key for ${process.platform}/${process.arch}`)
  const name = canonicalAssetName(o.version, platform)
  const archive = releaseTarGz(typeof o.binary === 'string' ? readFileSync(o.binary) : o.binary)
  const path = `/cco-dev/cco/releases/download/v${o.version}/${name}`
  downloads.file(path, archive)
  const payload = releasePayload({
    action: 'published',
    tag: `v${o.version}`,
    body: o.body ?? `Release ${o.version}.`,
    assets: [{ name, url: `${downloads.url}${path}`, size: archive.length, digest: `sha256:${sha256(archive)}` }],
  })
  return { hook: await broker.sendWebhook('release', payload), downloadPath: path }
}
