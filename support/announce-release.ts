// GitHub's side of a release, for tests and the demo: the archive holding a cco binary goes on
// the stand-in download host at GitHub's path, and a signed `release published` webhook with
// the asset's digest goes to the broker. With `delta`, the binary's block map and chunk pack
// (the differential assets `npm run build:release` writes beside each archive) go with it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deltaAssetNames, type BlockMap } from '../contract/blockmap.ts'
import { canonicalAssetName, type Platform } from '../contract/platform.ts'
import { currentPlatform } from '../client/src/context.ts'
import { writeDeltaAssets } from '../scripts/lib/blockmap-build.ts'
import { releaseTarGz } from './archives.ts'
import type { DevBroker } from './broker.ts'
import { releasePayload, type FixtureAsset } from './github.ts'
import type { ReleaseServer } from './release-server.ts'
import { sha256 } from './signed-manifest.ts'

/** The `digest` the webhook lists for an asset: GitHub's right one, none (an older GitHub), or another file's. */
export type DigestKind = 'right' | 'none' | 'wrong'

export interface DeltaAnnounceOptions {
  /** Block map digest in the webhook (default 'right'); 'none' and 'wrong' are for the broker's refusals. */
  blockmapDigest?: DigestKind
  packDigest?: DigestKind
  /** Replace the block map's bytes as served (after its digest was computed from the right ones). */
  blockmapBytes?: (bytes: Buffer) => Buffer
}

export interface AnnounceOptions {
  version: string
  /** The binary to pack (a path or its bytes). */
  binary: string | Buffer
  /** The archive to publish (a path or its bytes), e.g. a real build's; default: a .tar.gz of `binary`. */
  archive?: string | Buffer
  body?: string
  platform?: Platform
  /** Also publish the binary's block map and chunk pack, made with writeDeltaAssets as the release build does. */
  delta?: boolean | DeltaAnnounceOptions
}

export interface AnnouncedDelta {
  /** Where the download host serves them (to switch faults on with `fileOptions`, or count bytes). */
  blockmapPath: string
  packPath: string
  map: BlockMap
  blockmap: Buffer
  pack: Buffer
}

export interface Announced {
  /** The broker's answer to the webhook. */
  hook: Response
  /** Where the download host serves the archive (to check that hosts fetched it). */
  downloadPath: string
  /** The archive as served. */
  archive: Buffer
  /** The webhook's payload as sent (its `release.assets` list the digests). */
  payload: Record<string, unknown>
  delta?: AnnouncedDelta
}

const bytesOf = (file: string | Buffer) => (typeof file === 'string' ? readFileSync(file) : file)

function digest(kind: DigestKind | undefined, bytes: Buffer): string | undefined {
  if (kind === 'none') return undefined
  // A wrong digest is still well-formed: the sha256 of other bytes.
  return `sha256:${sha256(kind === 'wrong' ? Buffer.concat([bytes, Buffer.from('tampered')]) : bytes)}`
}

/** Serves the archive (and its delta assets) and posts the webhook. */
export async function announceRelease(broker: DevBroker, downloads: ReleaseServer, o: AnnounceOptions): Promise<Announced> {
  const platform = o.platform ?? currentPlatform()
  if (!platform) throw new Error(`no cco platform key for ${process.platform}/${process.arch}`)
  const name = canonicalAssetName(o.version, platform)
  const archive = o.archive === undefined ? releaseTarGz(bytesOf(o.binary)) : bytesOf(o.archive)
  const base = `/cco-dev/cco/releases/download/v${o.version}`
  const path = `${base}/${name}`
  downloads.file(path, archive)
  const assets: FixtureAsset[] = [{ name, url: `${downloads.url}${path}`, size: archive.length, digest: `sha256:${sha256(archive)}` }]

  let delta: AnnouncedDelta | undefined
  if (o.delta) {
    const d = o.delta === true ? {} : o.delta
    delta = await makeDelta(o.binary, name, o.version, platform)
    const names = deltaAssetNames(name)!
    const served = d.blockmapBytes ? d.blockmapBytes(delta.blockmap) : delta.blockmap
    delta.blockmapPath = `${base}/${names.blockmap}`
    delta.packPath = `${base}/${names.pack}`
    downloads.file(delta.blockmapPath, served)
    downloads.file(delta.packPath, delta.pack)
    assets.push(
      { name: names.blockmap, url: `${downloads.url}${delta.blockmapPath}`, size: served.length, digest: digest(d.blockmapDigest, delta.blockmap) },
      { name: names.pack, url: `${downloads.url}${delta.packPath}`, size: delta.pack.length, digest: digest(d.packDigest, delta.pack) },
    )
  }

  const payload = releasePayload({ action: 'published', tag: `v${o.version}`, body: o.body ?? `Release ${o.version}.`, assets })
  return { hook: await broker.sendWebhook('release', payload), downloadPath: path, archive, payload, delta }
}

/** The block map and pack of `binary`, written to a temp dir and read back. */
async function makeDelta(binary: string | Buffer, archiveName: string, version: string, platform: Platform): Promise<AnnouncedDelta> {
  const dir = mkdtempSync(join(tmpdir(), 'cco-announce-delta-'))
  try {
    let path = binary as string
    if (typeof binary !== 'string') {
      path = join(dir, 'binary')
      writeFileSync(path, binary)
    }
    const r = await writeDeltaAssets({ binary: path, archiveName, outDir: dir, version, platform })
    return { blockmapPath: '', packPath: '', map: r.map, blockmap: readFileSync(r.blockmap), pack: readFileSync(r.pack) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
