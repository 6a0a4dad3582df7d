// A stand-in for the broker's admin API with scripted answers per `METHOD /path`, recording
// every request (headers and body) so tests can check what `cco release …` sent.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  query: string
  headers: IncomingHttpHeaders
  body: string
}

export interface ScriptedAnswer {
  status?: number
  /** JSON-encoded unless a string. */
  body: unknown
  contentType?: string
}

export interface FakeAdminBroker {
  url: string
  requests: RecordedRequest[]
  /** Answer `METHOD /path` (query ignored) with this, every time. */
  answer(route: string, answer: ScriptedAnswer): void
  close(): Promise<void>
}

export async function startFakeAdminBroker(): Promise<FakeAdminBroker> {
  const routes = new Map<string, ScriptedAnswer>()
  const requests: RecordedRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const method = req.method ?? 'GET'
      requests.push({ method, path: url.pathname, query: url.search, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      const a = routes.get(`${method} ${url.pathname}`)
      if (!a) {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 'not_found', message: `no route ${method} ${url.pathname}` } }))
        return
      }
      const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body)
      res.writeHead(a.status ?? 200, { 'content-type': a.contentType ?? 'application/json' })
      res.end(text)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (route, answer) => void routes.set(route, answer),
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
