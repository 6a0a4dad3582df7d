// Release engineering on the real `wrangler dev` (workerd, local R2): a release announced by
// webhook is copied into the R2 mirror before it goes live and is then served from it with
// Range; the generated admin token promotes and yanks it; a release the webhooks missed is
// picked up from a local stand-in for GitHub's REST API by the scheduled run, and the next
// run's conditional request costs nothing.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { releasePayload } from '../../support/github.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

let broker: DevBroker
let github: ReleaseServer
let dir: string
/** GitHub's releases, newest first, as its API lists them. */
const onGithub: unknown[] = []

/** wrangler.toml with the R2 mirror turned on, as its comment says to. */
function mirrorConfig(): string {
  const text = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8').replace(/^main = .*$/m, `main = ${JSON.stringify(join(ROOT, 'worker/index.ts'))}`)
  const path = join(dir, 'wrangler.toml')
  writeFileSync(path, `${text}\n[[r2_buckets]]\nbinding = "ASSETS_BUCKET"\nbucket_name = "cco-assets"\n`)
  return path
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cco-broker-admin-'))
  github = await startReleaseServer()
  broker = await startBroker({ configPath: mirrorConfig(), vars: { ASSET_HOSTS: '127.0.0.1', GITHUB_API_URL: github.url } })
}, 60_000)

afterAll(async () => {
  await broker?.stop()
  await github?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A release archive on the stand-in download host, and its webhook/API release object. */
function release(version: string, size: number) {
  const name = canonicalAssetName(version, 'linux-x86_64')
  const bytes = randomBytes(size)
  const path = `/cco-dev/cco/releases/download/v${version}/${name}`
  github.file(path, bytes)
  const payload = releasePayload({ action: 'published', tag: `v${version}`, assets: [{ name, url: `${github.url}${path}`, size, digest: `sha256:${sha256(bytes)}` }] })
  return { name, bytes, path, payload }
}

async function json(path: string, init: RequestInit = {}) {
  const res = await fetch(`${broker.url}${path}`, init)
  return { status: res.status, body: (await res.json()) as Record<string, any> }
}

const admin = (path: string, body: unknown, token = broker.adminToken) =>
  json(path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const v = await probe()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${broker.output()}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const liveRelease = (version: string) =>
  until(`${version} to go live`, async () => {
    const r = await json(`/v1/releases/${version}`)
    return r.body.status === 'live' ? r.body : null
  })

it('mirrors, serves with Range, promotes and yanks with the generated admin token', { timeout: 60_000 }, async () => {
  const V = '2026.11.5'
  const { name, bytes, path, payload } = release(V, 256 * 1024)
  onGithub.unshift(payload.release)
  const res = await broker.sendWebhook('release', payload)
  expect(res.status, broker.output()).toBe(202)
  expect(await res.json()).toMatchObject({ status: 'queued', version: V })

  await liveRelease(V)
  expect(github.requests.filter((r) => r.path === path)).toHaveLength(1)
  const assetUrl = `${broker.url}/v1/assets/${V}/${sha256(bytes)}/${name}`
  const part = await fetch(assetUrl, { headers: { range: 'bytes=0-9' } })
  expect(part.status).toBe(206)
  expect(part.headers.get('content-range')).toBe(`bytes 0-9/${bytes.length}`)
  expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 10))
  const full = await fetch(assetUrl)
  expect(sha256(Buffer.from(await full.arrayBuffer()))).toBe(sha256(bytes))
  expect(github.requests.filter((r) => r.path === path)).toHaveLength(1) // served from R2

  expect((await admin('/v1/channels/stable/promote', { version: V, percent: 30 }, 'wrong')).status).toBe(401)
  const promoted = await admin('/v1/channels/stable/promote', { version: V, percent: 30 })
  expect(promoted).toMatchObject({ status: 200, body: { channel: 'stable', version: V, rollout: { percent: 30, halted: false }, changed: true } })
  const yanked = await admin(`/v1/releases/${V}/yank`, { reason: 'e2e' })
  expect(yanked).toMatchObject({ status: 200, body: { release: { version: V, yanked: { reason: 'e2e' } } } })
  const audit = await json('/v1/audit?limit=20', { headers: { authorization: `Bearer ${broker.adminToken}` } })
  expect(audit.body.entries.filter((e: any) => e.actor === 'token:e2e').map((e: any) => e.action)).toEqual(expect.arrayContaining(['channel.promoted', 'release.yanked']))
})

it('picks up a release the webhooks missed from the GitHub API, then costs one 304 per run', { timeout: 60_000 }, async () => {
  const missed = release('2026.11.6', 4096)
  onGithub.unshift(missed.payload.release)
  const listPath = '/repos/cco-dev/cco/releases'
  const list = Buffer.from(JSON.stringify(onGithub))
  github.route(listPath, (req, res) => {
    if (req.headers['if-none-match'] === '"list-1"') {
      res.writeHead(304, { etag: '"list-1"' })
      res.end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', etag: '"list-1"', 'content-length': list.length })
    res.end(list)
  })

  await broker.runScheduled()
  await liveRelease('2026.11.6')
  const beta = await json('/v1/channels')
  expect(beta.body.channels.find((c: any) => c.channel === 'beta')).toMatchObject({ version: '2026.11.6' })

  const audit = async () => (await json('/v1/audit?limit=1000', { headers: { authorization: `Bearer ${broker.adminToken}` } })).body.entries.length
  const entries = await audit()
  await broker.runScheduled()
  expect(await audit()).toBe(entries)
  const calls = github.requests.filter((r) => r.path === listPath)
  expect(calls).toHaveLength(2)
  expect(calls[1]!.headers['if-none-match']).toBe('"list-1"')
})
