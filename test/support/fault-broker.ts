// A broker stand-in that can die mid-stream and come back: one HTTP server serving a signed
// manifest and the release archive it names, on a fixed port, killed (every socket destroyed,
// listener closed) after sending part of the archive, and restarted on the same port after a
// pause. Each archive request follows the next step of a plan.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { canonicalAssetName, type Platform } from '../../contract/platform.ts'
import { manifestPayload, sha256, signManifest, type Signer } from '../../support/signed-manifest.ts'

export interface ArchiveStep {
  /** Send this many bytes of the body, then kill the whole server. */
  dieAfter?: number
  /** Restart (same port) this long after dying; null: stay down. */
  restartAfterMs?: number | null
  /** Honour `Range: bytes=N-` with a 206 (default true); false answers 200 with everything. */
  honourRange?: boolean
  /** Answer a Range request with this Content-Range instead of the right one. */
  contentRange?: string
  /** Send no Content-Length (chunked). */
  chunked?: boolean
}

export interface ArchiveRequest {
  range: string | undefined
  ifRange: string | undefined
  status: number
  sent: number
}

export interface FaultyBroker {
  url: string
  /** The asset URL in the manifest. */
  assetUrl: string
  archive: Buffer
  requests: ArchiveRequest[]
  /** True while the server is listening. */
  readonly up: boolean
  kill(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

export interface FaultyBrokerOptions {
  signer: Signer
  version: string
  platform: Platform
  archive: Buffer
  plan: ArchiveStep[]
}

const ETAG = '"archive-v1"'

export async function startFaultyBroker(o: FaultyBrokerOptions): Promise<FaultyBroker> {
  const name = canonicalAssetName(o.version, o.platform)
  const path = `/v1/assets/${o.version}/${name}`
  const sockets = new Set<Socket>()
  const requests: ArchiveRequest[] = []
  let server: Server | undefined
  let port = 0
  let manifest: Buffer = Buffer.alloc(0)
  let restartTimer: NodeJS.Timeout | undefined

  const serveArchive = (req: IncomingMessage, res: ServerResponse) => {
    const step = o.plan[requests.length] ?? {}
    const range = typeof req.headers.range === 'string' ? req.headers.range : undefined
    const from = /^bytes=(\d+)-$/.exec(range ?? '')
    const partial = from !== null && (step.honourRange ?? true) && Number(from[1]) < o.archive.length
    const offset = partial ? Number(from![1]) : 0
    const body = o.archive.subarray(offset)
    const log: ArchiveRequest = { range, ifRange: req.headers['if-range'] as string | undefined, status: partial ? 206 : 200, sent: 0 }
    requests.push(log)
    res.writeHead(log.status, {
      'content-type': 'application/gzip',
      ...(step.chunked ? {} : { 'content-length': body.length }),
      etag: ETAG,
      'accept-ranges': 'bytes',
      ...(partial ? { 'content-range': step.contentRange ?? `bytes ${offset}-${o.archive.length - 1}/${o.archive.length}` } : {}),
    })
    if (step.dieAfter === undefined) {
      log.sent = body.length
      res.end(body)
      return
    }
    const part = body.subarray(0, step.dieAfter)
    log.sent = part.length
    res.write(part, () => {
      // Give the bytes a moment to leave, then die as a crashed process would.
      setTimeout(() => {
        void kill().then(() => {
          if (step.restartAfterMs !== null && step.restartAfterMs !== undefined) {
            restartTimer = setTimeout(() => void start(), step.restartAfterMs)
          }
        })
      }, 50)
    })
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname
    if (p === '/v1/channels/stable/manifest') {
      res.writeHead(200, { 'content-type': 'application/jose+json', 'content-length': manifest.length })
      res.end(manifest)
    } else if (p === path) {
      serveArchive(req, res)
    } else {
      res.writeHead(404)
      res.end()
    }
  }

  async function start(): Promise<void> {
    if (server) return
    const s = createServer(handler)
    s.on('connection', (sock) => {
      sockets.add(sock)
      sock.on('close', () => sockets.delete(sock))
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => resolve())
    })
    port = (s.address() as AddressInfo).port
    server = s
  }

  async function kill(): Promise<void> {
    const s = server
    if (!s) return
    server = undefined
    for (const sock of sockets) sock.destroy()
    await new Promise<void>((r) => s.close(() => r()))
  }

  await start()
  const url = `http://127.0.0.1:${port}`
  const assetUrl = `${url}${path}`
  const payload = manifestPayload({
    version: o.version,
    assets: { [o.platform]: { name, url: assetUrl, size: o.archive.length, sha256: sha256(o.archive) } },
  })
  manifest = await signManifest(payload, [o.signer])

  return {
    url,
    assetUrl,
    archive: o.archive,
    requests,
    get up() {
      return server !== undefined
    },
    kill,
    start,
    close: async () => {
      clearTimeout(restartTimer)
      await kill()
    },
  }
}
