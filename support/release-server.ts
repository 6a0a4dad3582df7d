// A local HTTP server standing in for the broker's manifest route and for the download host,
// with a request log and hooks for the faults tests need (stalls, redirects, wrong bodies, a
// server that ignores `Range`, bytes changed in transit).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { sha256 } from './signed-manifest.ts'

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface LoggedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  /** Set for paths served by `file()`: the status sent, and how many body bytes. */
  status?: number
  bytes?: number
  /** Set when `file()` answered a range (206): the first and last byte sent. */
  range?: { first: number; last: number }
}

/** Per-path switches of `file()`. */
export interface FileOptions {
  /** Answer every GET with 200 and the whole body, as a server or proxy that ignores `Range` does. */
  ignoreRange?: boolean
  /**
   * Change what is sent for a range: gets the range's bytes (a copy) and its first byte's
   * offset, returns the bytes to send instead (a chunk "tampered in transit").
   */
  tamper?: (bytes: Buffer, first: number) => Buffer
}

export interface ReleaseServer {
  url: string
  port: number
  requests: LoggedRequest[]
  /** Route an exact path (query ignored). */
  route(path: string, handler: Handler): void
  /** Serve signed manifest bytes at /v1/channels/<channel>/manifest with a strong ETag and 304s. */
  manifest(channel: string, bytes: Buffer): void
  /**
   * Serve a file with its length, honouring a single `Range: bytes=…` (206 with Content-Range,
   * 416 past the end; several ranges or an `If-Range` get the whole file, as RFC 9110 allows).
   */
  file(path: string, body: Buffer, options?: FileOptions): void
  /** Change the switches of a path already served by `file()` (they replace the previous ones). */
  fileOptions(path: string, options: FileOptions): void
  /** Body bytes `file()` sent, for every path or those `which` accepts. */
  bytesServed(which?: (path: string) => boolean): number
  close(): Promise<void>
}

export function serveBytes(body: Buffer, contentType = 'application/octet-stream'): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.length })
    res.end(body)
  }
}

/** The one range of a `Range` header over `size` bytes: the range, 'unsatisfiable', or null to send the whole body. */
export function parseRange(header: string | undefined, size: number): { first: number; last: number } | 'unsatisfiable' | null {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    // A suffix: the last N bytes.
    const n = Number(m[2])
    if (n === 0) return 'unsatisfiable'
    return { first: Math.max(0, size - n), last: size - 1 }
  }
  const first = Number(m[1])
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (m[2] !== '' && Number(m[2]) < first) return null
  if (first >= size) return 'unsatisfiable'
  return { first, last }
}

export async function startReleaseServer(options: { tls?: { key: string; cert: string } } = {}): Promise<ReleaseServer> {
  const routes = new Map<string, Handler>()
  const requests: LoggedRequest[] = []
  const logged = new WeakMap<IncomingMessage, LoggedRequest>()
  const fileOptions = new Map<string, FileOptions>()
  const sockets = new Set<import('node:net').Socket>()
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const entry: LoggedRequest = { method: req.method ?? 'GET', path, headers: req.headers }
    requests.push(entry)
    logged.set(req, entry)
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
    file(path, body, options = {}) {
      fileOptions.set(path, options)
      routes.set(path, (req, res) => {
        const o = fileOptions.get(path) ?? {}
        const entry = logged.get(req)!
        const send = (status: number, headers: Record<string, string | number>, bytes: Buffer) => {
          entry.status = status
          entry.bytes = req.method === 'HEAD' ? 0 : bytes.length
          res.writeHead(status, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, ...headers })
          res.end(bytes)
        }
        const wanted = o.ignoreRange || req.headers['if-range'] !== undefined ? null : parseRange(req.headers.range, body.length)
        const acceptRanges: Record<string, string> = o.ignoreRange ? {} : { 'accept-ranges': 'bytes' }
        if (wanted === null) return send(200, acceptRanges, body)
        if (wanted === 'unsatisfiable') return send(416, { ...acceptRanges, 'content-range': `bytes */${body.length}` }, Buffer.alloc(0))
        entry.range = wanted
        const slice = body.subarray(wanted.first, wanted.last + 1)
        const bytes = o.tamper ? o.tamper(Buffer.from(slice), wanted.first) : slice
        send(206, { ...acceptRanges, 'content-range': `bytes ${wanted.first}-${wanted.last}/${body.length}` }, bytes)
      })
    },
    fileOptions(path, options) {
      if (!fileOptions.has(path)) throw new Error(`fileOptions: ${path} is not served by file()`)
      fileOptions.set(path, options)
    },
    bytesServed: (which = () => true) => requests.reduce((n, r) => n + (r.bytes !== undefined && which(r.path) ? r.bytes : 0), 0),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}
