// Outgoing notifications from the real `wrangler dev` broker to a real local receiver (a Node
// HTTP server on loopback): an admin halt and resume reach it from the Durable Object's alarm,
// as JSON with a Slack-compatible `text`, signed with HMAC-SHA256 under NOTIFY_SECRET. Retries
// after a receiver failure are covered in workerd (test/worker/notifications.test.ts), where the
// alarm's time can be moved.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { releasePayload } from '../../support/github.ts'

const SECRET = 'e2e-notify-secret-0123456789abcdefghij'
const VERSION = '2026.11.7'

interface Received {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

let broker: DevBroker
let receiver: Server
const received: Received[] = []

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/secret-path`
  broker = await startBroker({ vars: { NOTIFY_URLS: JSON.stringify([url]), NOTIFY_SECRET: SECRET } })
}, 60_000)

afterAll(async () => {
  await broker?.stop()
  await new Promise<void>((r) => receiver?.close(() => r()))
})

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v !== undefined) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; broker output:\n${broker.output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function signedBy(r: Received, secret: string): boolean {
  const header = String(r.headers['x-cco-signature-256'] ?? '')
  const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`)
  const got = Buffer.from(header)
  return got.length === want.length && timingSafeEqual(got, want)
}

it('delivers a halt and a resume to a local receiver, signed, from the alarm', { timeout: 60_000 }, async () => {
  const name = canonicalAssetName(VERSION, 'linux-x86_64')
  const payload = releasePayload({
    action: 'published',
    tag: `v${VERSION}`,
    assets: [{ name, url: `https://github.com/cco-dev/cco/releases/download/v${VERSION}/${name}`, size: 1234, digest: `sha256:${createHash('sha256').update(name).digest('hex')}` }],
  })
  expect((await broker.sendWebhook('release', payload)).status).toBe(200)
  const admin = (path: string, body: unknown) =>
    fetch(`${broker.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect((await admin('/v1/channels/beta/halt', { reason: 'crash on start' })).status).toBe(200)
  const halt = await waitFor('the halt notification', () => received.find((r) => JSON.parse(r.body).event === 'halt'))
  expect(halt.path).toBe('/hooks/secret-path')
  expect(halt.headers['content-type']).toBe('application/json')
  expect(signedBy(halt, SECRET)).toBe(true)
  expect(signedBy(halt, `${SECRET}x`)).toBe(false)
  expect(JSON.parse(halt.body)).toMatchObject({ event: 'halt', channel: 'beta', version: VERSION, text: expect.stringContaining('crash on start') })

  expect((await admin('/v1/channels/beta/resume', {})).status).toBe(200)
  const resume = await waitFor('the resume notification', () => received.find((r) => JSON.parse(r.body).event === 'resume'))
  expect(signedBy(resume, SECRET)).toBe(true)
  // The receiver's secret path is never shown back: not in the audit log an admin can read.
  const audit = await (await fetch(`${broker.url}/v1/audit?limit=100`, { headers: { authorization: `Bearer ${broker.adminToken}` } })).text()
  expect(audit).not.toContain('secret-path')
})
