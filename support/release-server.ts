// A local HTTP server standing in for the broker's manifest route and for the download host,
// with a request log and hooks for the faults tests need (stalls, redirects, wrong bodies).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { sha256 } from './signed-manifest.ts'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface LoggedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
}

export interface ReleaseServer {
  url: string
  port: number
  requests: LoggedRequest[]
  /** Route an exact path (query ignored). */
  route(path: string, handler: Handler): void
  /** Serve signed manifest bytes at /v1/channels/<channel>/manifest with a strong ETag and 304s. */
  manifest(channel: string, bytes: Buffer): void
  /** Serve a file with its length. */
  file(path: string, body: Buffer): void
  close(): Promise<void>
}

export function serveBytes(body: Buffer, contentType = 'application/octet-stream'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.length })
    res.end(body)
  }
}

export async function startReleaseServer(options: { tls?: { key: string; cert: string } } = {}): Promise<ReleaseServer> {
  const routes = new Map<string, Handler>()
  const requests: LoggedRequest[] = []
  const sockets = new Set<import('node:net').Socket>()
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers })
    const h = routes.get(path)
    if (!h) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${path}` } }))
      return
    }
    Promise.resolve(h(req, res)).catch((err) => {
      res.destroy(err as Error)
    })
  }
  const server: Server = options.tls ? createHttpsServer(options.tls, handler) : createServer(handler)
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  return {
    url,
    port,
    requests,
    route: (path, handler) => routes.set(path, handler),
    manifest(channel, bytes) {
      const etag = `"${sha256(bytes)}"`
      routes.set(`/v1/channels/${channel}/manifest`, (req, res) => {
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag })
          res.end()
          return
        }
        res.writeHead(200, { 'content-type': 'application/jose+json', etag, 'content-length': bytes.length })
        res.end(bytes)
      })
    },
    file(path, body) {
      routes.set(path, serveBytes(body))
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}
