// A stand-in for the broker's `POST /v1/reports`: records every request (headers and parsed
// body) and answers as the test says — 202 with the counts, 429 with Retry-After, 500, or no
// answer at all (a black hole, for the sender's timeout). Mounted on a ReleaseServer route (the
// update fixture's broker) or served on its own.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Handler, ReleaseServer } from '../../support/release-server.ts'

export interface RecordedReport {
  authorization: string | undefined
  contentType: string | undefined
  text: string
  body: { host_id: string; events: { id: string; kind: string; outcome: string; [k: string]: unknown }[]; [k: string]: unknown }
  at: number
}

export type ReportAnswer = 'accept' | 'hang' | { status: number; headers?: Record<string, string>; body?: unknown }

export interface ReportsStandIn {
  reports: RecordedReport[]
  /** Answers the next requests in turn; after the list, `otherwise` (default accept). */
  script(answers: ReportAnswer[], otherwise?: ReportAnswer): void
  handler: Handler
  /** Event ids of every report received, in order. */
  eventIds(): string[]
  /** Ends requests left hanging. */
  release(): void
}

export function reportsStandIn(): ReportsStandIn {
  const reports: RecordedReport[] = []
  let queue: ReportAnswer[] = []
  let otherwise: ReportAnswer = 'accept'
  const seen = new Set<string>()
  const hanging: ServerResponse[] = []
  const handler: Handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const body = JSON.parse(text) as RecordedReport['body']
    reports.push({ authorization: req.headers.authorization, contentType: req.headers['content-type'], text, body, at: Date.now() })
    const answer = queue.shift() ?? otherwise
    if (answer === 'hang') {
      hanging.push(res)
      return
    }
    if (answer === 'accept') {
      const fresh = body.events.filter((e) => !seen.has(e.id))
      for (const e of fresh) seen.add(e.id)
      res.writeHead(202, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ accepted: fresh.length, duplicates: body.events.length - fresh.length }))
      return
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
    res.end(JSON.stringify(answer.body ?? { error: { code: 'test', message: `scripted ${answer.status}` } }))
  }
  return {
    reports,
    script(answers, other = 'accept') {
      queue = [...answers]
      otherwise = other
    },
    handler,
    eventIds: () => reports.flatMap((r) => r.body.events.map((e) => e.id)),
    release() {
      for (const res of hanging.splice(0)) res.destroy()
    },
  }
}

/** Mounts the stand-in at `/v1/reports` of a release server (the update fixture's broker). */
export function mountReports(server: ReleaseServer): ReportsStandIn {
  const s = reportsStandIn()
  server.route('/v1/reports', s.handler)
  return s
}

/** The stand-in on its own loopback port. */
export async function serveReports(): Promise<ReportsStandIn & { url: string; close(): Promise<void> }> {
  const s = reportsStandIn()
  const server = createServer((req, res) => {
    if (req.method === 'POST' && new URL(req.url ?? '/', 'http://x').pathname === '/v1/reports') {
      Promise.resolve(s.handler(req, res)).catch((err: unknown) => res.destroy(err as Error))
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end('{"error":{"code":"not_found","message":"no route"}}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    ...s,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        s.release()
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
