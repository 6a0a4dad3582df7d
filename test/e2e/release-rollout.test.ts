// What hosts do with the broker's signed channel state, end to end: real `wrangler dev`
// driven through its webhook and admin API, and cco bundles in temporary HOMEs running
// `cco update --yes`. A halted channel installs nothing; a 10 % rollout installs exactly on
// the hosts whose bucket is below 10; a host running a yanked version moves to the channel's
// (lower) version; and the pre-yank manifest replayed afterwards is refused (seq went back).
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { announceRelease } from '../../support/announce-release.ts'
import { currentPlatform } from '../../client/src/context.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const A = '2026.6.1'
const B = '2026.6.2'
const platform = currentPlatform()!

let broker: DevBroker
let downloads: ReleaseServer
const bundles: Record<string, string> = {}
const homes: CcoHome[] = []

beforeAll(async () => {
  ;[bundles[A], bundles[B], broker, downloads] = await Promise.all([
    clientBundle({ version: A }),
    clientBundle({ version: B }),
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1' } }),
    startReleaseServer(),
  ])
  for (const version of [A, B]) {
    const { hook: res } = await announceRelease(broker, downloads, { version, binary: bundles[version]!, platform })
    expect(res.status, broker.output()).toBe(200)
  }
}, 90_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  for (const h of homes) h.cleanup()
})

async function admin(path: string, body: unknown = {}): Promise<{ seq: number }> {
  const res = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  expect(res.status, `${path}: ${text}`).toBe(200)
  return JSON.parse(text) as { seq: number }
}

/** sha256(host_id + ":" + version), first 4 bytes big-endian, mod 100 (contract/README.md), computed here independently. */
const bucket = (hostId: string, version: string) => createHash('sha256').update(`${hostId}:${version}`).digest().readUInt32BE(0) % 100

/** A deterministic v4-shaped UUID for the n-th test host. */
function hostIdFor(n: number): string {
  const h = createHash('sha256').update(`test-host-${n}`).digest('hex').split('')
  h[12] = '4'
  h[16] = '89ab'[parseInt(h[16]!, 16) % 4]!
  const s = h.join('')
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`
}

function host(version: string, hostId: string, extraConfig?: string): CcoHome {
  const h = makeHome('cco-e2e-rollout-')
  homes.push(h)
  h.writeConfig({ server: broker.url, keys: [broker.secrets.publicKey], extra: extraConfig })
  mkdirSync(h.stateDir, { recursive: true })
  writeFileSync(join(h.stateDir, 'host-id'), `${hostId}\n`, { mode: 0o600 })
  h.install(bundles[version]!)
  return h
}

const cco = (h: CcoHome, args: string[]) => runCco(h.installPath, args, { home: h.home })
const running = async (h: CcoHome) => (await cco(h, ['--version'])).stdout.trim()

let hostOnB: CcoHome | undefined
let preYankManifest: Buffer | undefined

it('a halted channel installs nothing, even for a host inside the rollout', { timeout: 60_000 }, async () => {
  // A goes to stable first, so that stable has a good version to fall back to after a yank.
  await admin('/v1/channels/stable/promote', { version: A })
  await admin('/v1/channels/stable/promote', { version: B })
  await admin('/v1/channels/stable/halt', { reason: 'error rate up' })

  const h = host(A, hostIdFor(0))
  const r = await cco(h, ['update', '--yes'])
  expect(r.code, show(r)).toBe(0)
  expect(r.stdout).toContain(`→ Latest version: ${B}`)
  expect(r.stdout).toContain(`→ the rollout of ${B} is halted`)
  expect(r.stdout).not.toContain('Successfully updated')
  expect(await running(h)).toBe(`cco ${A}`)
  expect(existsSync(h.backupPath)).toBe(false)
  expect(downloads.requests.some((q) => q.path.includes(`v${B}`))).toBe(false)
})

it('a 10 % rollout installs on exactly the hosts whose bucket is below 10', { timeout: 90_000 }, async () => {
  await admin('/v1/channels/stable/resume')
  await admin('/v1/channels/stable/rollout', { percent: 10 })

  // Hosts on both sides of the boundary, including buckets 9 and 10 themselves.
  const wanted = [0, 3, 9, 10, 50, 99]
  const chosen = new Map<number, string>()
  for (let n = 1; chosen.size < wanted.length && n < 100_000; n++) {
    const id = hostIdFor(n)
    const b = bucket(id, B)
    if (wanted.includes(b) && !chosen.has(b)) chosen.set(b, id)
  }
  expect([...chosen.keys()].sort((x, y) => x - y)).toEqual(wanted)

  const results = await Promise.all(
    [...chosen].map(async ([b, id]) => {
      const h = host(A, id)
      const r = await cco(h, ['update', '--yes'])
      expect(r.code, show(r)).toBe(0)
      return { b, h, r, version: await running(h) }
    }),
  )
  for (const { b, h, r, version } of results) {
    if (b < 10) {
      expect(version, `bucket ${b}\n${show(r)}`).toBe(`cco ${B}`)
      expect(r.stdout).toContain(`✅ Successfully updated to ${B}`)
      hostOnB ??= h
    } else {
      expect(version, `bucket ${b}\n${show(r)}`).toBe(`cco ${A}`)
      expect(r.stdout).toContain(`${B} is rolling out to 10% of hosts; this host (bucket ${b}) is not included yet`)
    }
  }
})

it('a host running a yanked version moves to the channel version, even though it is lower', { timeout: 60_000 }, async () => {
  // The manifest as it was before the yank: B for every host. Kept for the replay below.
  await admin('/v1/channels/stable/rollout', { percent: 100 })
  const res = await fetch(`${broker.url}/v1/channels/stable/manifest`)
  preYankManifest = Buffer.from(await res.arrayBuffer())
  const before = JSON.parse(Buffer.from((JSON.parse(preYankManifest.toString()) as { payload: string }).payload, 'base64url').toString()) as {
    seq: number
    release: { version: string }
    rollout: { percent: number; halted: boolean }
  }
  expect(before).toMatchObject({ release: { version: B }, rollout: { percent: 100, halted: false } })

  const h = hostOnB!
  expect(await running(h)).toBe(`cco ${B}`)
  await fetch(`${broker.url}/v1/releases/${B}/yank`, {
    method: 'POST',
    headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'loses config on upgrade' }),
  }).then(async (r) => expect(r.status, await r.text()).toBe(200))

  const r = await cco(h, ['update', '--yes'])
  expect(r.code, show(r)).toBe(0)
  expect(r.stdout).toContain(`⚠️  Your version ${B} was withdrawn: loses config on upgrade`)
  expect(r.stdout).toContain(`✅ Successfully updated to ${A}`)
  expect(await running(h)).toBe(`cco ${A}`)
  const trusted = JSON.parse(readFileSync(join(h.stateDir, 'trust', 'stable.json'), 'utf8')) as { seq: number }
  expect(trusted.seq).toBeGreaterThan(before.seq)
})

it('the pre-yank manifest replayed afterwards is refused: its seq went back (exit 4)', { timeout: 60_000 }, async () => {
  const h = hostOnB!
  // A hostile proxy between the host and the broker answers with the old, validly signed bytes.
  const replays: string[] = []
  const proxy: Server = createServer((req, res) => {
    replays.push(req.url ?? '')
    if (req.url?.endsWith('/v1/channels/stable/manifest')) {
      res.writeHead(200, { 'content-type': 'application/jose+json', 'content-length': preYankManifest!.length })
      res.end(preYankManifest)
      return
    }
    res.writeHead(502)
    res.end()
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  try {
    const trustedBefore = readFileSync(join(h.stateDir, 'trust', 'stable.json'), 'utf8')
    const config = readFileSync(h.configFile, 'utf8')
    writeFileSync(h.configFile, `${config}\n[network]\nproxy = "http://127.0.0.1:${(proxy.address() as AddressInfo).port}"\n`)

    const r = await cco(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(4)
    expect(r.stderr).toMatch(/Manifest refused \(seq\)/)
    expect(replays).toContain(`${broker.url}/v1/channels/stable/manifest`)
    expect(await running(h)).toBe(`cco ${A}`)
    expect(readFileSync(join(h.stateDir, 'trust', 'stable.json'), 'utf8')).toBe(trustedBefore)
  } finally {
    await new Promise<void>((r) => proxy.close(() => r()))
  }
})
