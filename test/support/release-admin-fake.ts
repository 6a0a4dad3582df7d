// A stand-in for the broker's admin API with scripted answers per `METHOD /path`, recording
// every request (headers and body) so tests can check what `cco release …` sent.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import { main } from '../../client/src/main.ts'
import { testApp } from './app-context.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'

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
  /** Answer `METHOD /path` (query ignored) with this, every time; or with what `answer` makes of the request (paging). */
  answer(route: string, answer: ScriptedAnswer | ((request: RecordedRequest) => ScriptedAnswer)): void
  close(): Promise<void>
}

export async function startFakeAdminBroker(): Promise<FakeAdminBroker> {
  const routes = new Map<string, ScriptedAnswer | ((request: RecordedRequest) => ScriptedAnswer)>()
  const requests: RecordedRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const method = req.method ?? 'GET'
      const request = { method, path: url.pathname, query: url.search, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(request)
      const route = routes.get(`${method} ${url.pathname}`)
      const a = typeof route === 'function' ? route(request) : route
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

/**
 * One fake broker for the test file and a fresh cco home pointed at it for each test, with
 * `cco(args)` run in process (token in CCO_ADMIN_TOKEN unless `env` says otherwise). Whatever
 * happens, the token never appears in stdout or stderr.
 */
export function releaseCli(homePrefix: string, token: string) {
  let fake: FakeAdminBroker
  let home: CcoHome
  beforeAll(async () => {
    fake = await startFakeAdminBroker()
  })
  afterAll(() => fake.close())
  beforeEach(() => {
    home = makeHome(homePrefix)
    home.writeConfig({ server: fake.url })
    fake.requests.length = 0
  })
  afterEach(() => home.cleanup())
  return {
    get fake() {
      return fake
    },
    get home() {
      return home
    },
    async cco(args: string[], env: Record<string, string> = { CCO_ADMIN_TOKEN: token }) {
      const app = testApp(home.home, { env })
      const code = await main(args, app)
      const { stdout, stderr } = app.out
      expect(stdout + stderr).not.toContain(token)
      return { code, stdout, stderr }
    },
  }
}

/** A channel exactly as this broker serves it (`GET /v1/channels`), with `over` replacing fields. */
export function servedChannel(over: Record<string, unknown> = {}) {
  return {
    channel: 'stable',
    version: '2026.11.3',
    seq: 13,
    rollout: { percent: 10, halted: false, reason: null, halted_by: null },
    guard: { min_failures: 3, min_failure_percent: 5 },
    ramp: null,
    issued_at: '2026-11-26T20:00:00Z',
    expires_at: '2026-12-03T20:00:00Z',
    ...over,
  }
}
