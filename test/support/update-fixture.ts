// A fake broker and download host (one local HTTP server) publishing signed manifests for
// real cco bundles, and hosts (temporary HOMEs) with an installed cco pointed at it.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { canonicalAssetName } from '../../contract/platform.ts'
import { currentPlatform } from '../../client/src/context.ts'
import { releaseTarGz, zip } from '../../support/archives.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, type CcoRun, type RunOptions } from '../../support/cco-process.ts'
import { startReleaseServer, type Handler, type ReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, sha256, signManifest, type PayloadOptions, type Signer } from '../../support/signed-manifest.ts'

export const VERSION_A = '2026.1.1'
export const VERSION_B = '2026.1.2'
export const PLATFORM = currentPlatform()!

export interface PublishOptions extends Omit<PayloadOptions, 'assets' | 'version'> {
  version: string
  /** The binary inside the archive (default: the bundle of `version`). */
  binary?: Buffer
  kind?: 'tar.gz' | 'zip'
  /** Serve these bytes instead of the honest archive (the manifest still describes the honest one). */
  serveInstead?: Buffer
  /** Spread the download over this many milliseconds. */
  slowMs?: number
}

export interface UpdateFixture {
  server: ReleaseServer
  signer: Signer
  bundles: Record<string, string>
  /** Signs and serves a manifest for `channel` (default stable) with a fresh seq. */
  publish(o: PublishOptions): Promise<{ bytes: Buffer; archive: Buffer }>
  /** A host with config (server + pinned key) and cco `installed` (default version A). */
  host(o?: { installed?: string | Buffer; extra?: string }): CcoHome
  /** Runs the host's installed cco. */
  run(host: CcoHome, args: string[], o?: Partial<RunOptions>): Promise<CcoRun>
  close(): Promise<void>
}

export async function startUpdateFixture(versions: string[] = [VERSION_A, VERSION_B]): Promise<UpdateFixture> {
  const server = await startReleaseServer()
  const signer = await createSigner('test-key-1')
  const bundles: Record<string, string> = {}
  for (const v of versions) bundles[v] = await clientBundle({ version: v })
  const homes: CcoHome[] = []
  const seqs: Record<string, number> = {}

  return {
    server,
    signer,
    bundles,
    async publish(o) {
      const channel = o.channel ?? 'stable'
      const binary = o.binary ?? readFileSync(bundles[o.version]!)
      const kind = o.kind ?? 'tar.gz'
      const archive = kind === 'zip' ? await zip([{ name: 'cco', body: binary }]) : releaseTarGz(binary)
      const name = kind === 'zip' ? canonicalAssetName(o.version, PLATFORM).replace(/\.tar\.gz$/, '.zip') : canonicalAssetName(o.version, PLATFORM)
      const path = `/download/${o.version}/${Math.random().toString(16).slice(2)}/${name}`
      const body = o.serveInstead ?? archive
      if (o.slowMs) server.route(path, slowBody(body, o.slowMs))
      else server.file(path, body)
      seqs[channel] = o.seq ?? (seqs[channel] ?? 0) + 1
      const payload = manifestPayload({
        ...o,
        channel,
        seq: seqs[channel],
        assets: { [PLATFORM]: { name, url: `${server.url}${path}`, size: archive.length, sha256: sha256(archive) } },
      })
      const bytes = await signManifest(payload, [signer])
      server.manifest(channel, bytes)
      return { bytes, archive }
    },
    host(o = {}) {
      const h = makeHome()
      homes.push(h)
      h.writeConfig({ server: server.url, keys: [signer.publicKey], extra: o.extra })
      const installed = o.installed ?? VERSION_A
      h.install(typeof installed === 'string' ? bundles[installed]! : installed)
      return h
    },
    run(host, args, o = {}) {
      return runCco(host.installPath, args, { home: host.home, ...o })
    },
    async close() {
      await server.close()
      for (const h of homes) h.cleanup()
    },
  }
}

function slowBody(body: Buffer, ms: number): Handler {
  return async (_req, res) => {
    res.writeHead(200, { 'content-length': body.length })
    const parts = 10
    const step = Math.ceil(body.length / parts)
    for (let i = 0; i < body.length; i += step) {
      res.write(body.subarray(i, i + step))
      await new Promise((r) => setTimeout(r, ms / parts))
    }
    res.end()
  }
}

/** Leftover update temp dirs in the host's install directory. */
export function tempDirs(host: CcoHome): string[] {
  return existsSync(host.binDir) ? readdirSync(host.binDir).filter((n) => n.startsWith('.cco-update-')) : []
}
