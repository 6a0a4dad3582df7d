// `cco update --version X` end to end with real processes: the real broker (`wrangler dev`)
// with releases A < B < Y < C announced by webhook (stable follows the newest, C), a stand-in
// download host, real cco bundles in temporary HOMEs; and a stand-in broker in front of it
// for the statements the real one would never serve (replayed from before a yank, signed by
// an unknown key, a channel manifest in a statement's place, expired).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RELEASE_JWS_TYP } from '../../contract/release-manifest.ts'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { serveBytes, startReleaseServer, type Handler, type ReleaseServer } from '../../support/release-server.ts'
import { createSigner, signManifest, type Signer } from '../../support/signed-manifest.ts'
import { decidePin, nextAfterPin, type PinInput } from '../../client/src/update/pin.ts'
import { PLATFORM, tempDirs } from '../support/update-fixture.ts'

const A = '2026.5.1'
const B = '2026.5.2'
const Y = '2026.5.3' // yanked
const C = '2026.5.4' // stable's release
const YANK_REASON = 'corrupts the config file'

let broker: DevBroker
let downloads: ReleaseServer
/** Stands in for the broker: forwards the channel manifest, serves whatever a test puts at a statement's path. */
let standIn: ReleaseServer
const bundles: Record<string, string> = {}
/** Y's statement as the broker signed it before the yank. */
let beforeYank: Buffer
const homes: CcoHome[] = []

beforeAll(async () => {
  const built = await Promise.all([A, B, Y, C].map((version) => clientBundle({ version })))
  ;[A, B, Y, C].forEach((v, i) => (bundles[v] = built[i]!))
  ;[broker, downloads, standIn] = await Promise.all([
    startBroker({ vars: { ASSET_HOSTS: '127.0.0.1', STABLE_FROM_RELEASES: 'true' } }),
    startReleaseServer(),
    startReleaseServer(),
  ])
  for (const version of [A, B, Y, C]) {
    const { hook } = await announceRelease(broker, downloads, { version, binary: bundles[version]! })
    expect(hook.status, broker.output()).toBe(200)
  }
  // Captured before the yank, as anyone could have.
  const res = await fetch(`${broker.url}/v1/releases/${Y}/manifest`)
  expect(res.status, broker.output()).toBe(200)
  beforeYank = Buffer.from(await res.arrayBuffer())
  const yank = await fetch(`${broker.url}/v1/releases/${Y}/yank`, {
    method: 'POST',
    headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: YANK_REASON }),
  })
  expect(yank.status, await yank.text()).toBe(200)
  standIn.route('/v1/channels/stable/manifest', forward('/v1/channels/stable/manifest'))
}, 180_000)

afterAll(async () => {
  await broker?.stop()
  await downloads?.close()
  await standIn?.close()
  for (const h of homes) h.cleanup()
})

/** The broker's answer at `path`, past its caches. */
function forward(path: string): Handler {
  return async (_req, res) => {
    const r = await fetch(`${broker.url}${path}`, { headers: { 'cache-control': 'no-cache' } })
    const body = Buffer.from(await r.arrayBuffer())
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream', 'content-length': body.length })
    res.end(body)
  }
}

/** A host running `installed`, pointed at the broker (or the stand-in). */
function host(installed: string, server: string = broker.url): CcoHome {
  const h = makeHome('cco-pin-home-')
  homes.push(h)
  h.writeConfig({ server, keys: [broker.secrets.publicKey] })
  h.install(bundles[installed]!)
  return h
}

const cco = (h: CcoHome, args: string[]) => runCco(h.installPath, args, { home: h.home })
const running = async (h: CcoHome) => (await cco(h, ['--version'])).stdout.trim()

/** Every file of the trust state, by name, with its bytes. */
function trustState(h: CcoHome): Record<string, string> {
  const dir = join(h.stateDir, 'trust')
  if (!existsSync(dir)) return {}
  return Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n), 'utf8')]))
}

/** Every key of a JSON value, at any depth. */
function keysOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(keysOf)
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...keysOf(x)])
  return []
}

describe('against the broker', () => {
  it('installs an older version with --allow-downgrade, and says the daemon leaves it (auto_install off)', { timeout: 60_000 }, async () => {
    const h = host(C)
    const r = await cco(h, ['update', '--version', B, '--allow-downgrade', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`→ Current version: ${C}\n→ Requested version: ${B} (older: a downgrade, as --allow-downgrade allows)\n`)
    expect(r.stdout).toContain(`✅ Successfully updated to ${B}\n`)
    expect(r.stdout).toContain(`ℹ️  Channel stable offers ${C}; the daemon will not install it (updates.auto_install is off), cco update will\n`)
    expect(await running(h)).toBe(`cco ${B}`)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(bundles[C]!))
    expect(tempDirs(h)).toEqual([])
    expect(readFileSync(join(h.stateDir, 'updates.log'), 'utf8')).toContain(`update: ${C} -> ${B}`)
  })

  it('refuses an older version without --allow-downgrade: exit 1, nothing changed', { timeout: 60_000 }, async () => {
    const h = host(C)
    const r = await cco(h, ['update', '--version', A, '--yes'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toContain(`Not installing ${A}: ${A} is older than the running ${C}; pass --allow-downgrade to install it anyway\n`)
    expect(await running(h)).toBe(`cco ${C}`)
    expect(existsSync(h.backupPath)).toBe(false)
    expect(tempDirs(h)).toEqual([])
  })

  it('installs a newer version that no channel points at, any spelling, and prints snake_case JSON with schema 1', { timeout: 60_000 }, async () => {
    const h = host(A, broker.url)
    // With auto_install on, the output says the daemon will move the host on to the channel's C.
    expect((await cco(h, ['config', 'set', 'updates.auto_install', 'true'])).code).toBe(0)
    const r = await cco(h, ['update', '--version', `v${B}.0`, '--yes', '--json'])
    expect(r.code, show(r)).toBe(0)
    const j = JSON.parse(r.stdout) as Record<string, any>
    expect(j).toMatchObject({
      schema: 1,
      status: 'updated',
      channel: 'stable',
      current_version: A,
      latest_version: C,
      installed: { version: B },
      pin: { requested_version: `v${B}.0`, version: B, direction: 'upgrade', signed_by: broker.secrets.publicKey.kid, daemon_next_version: C, auto_install: true },
    })
    expect(Date.parse(j.pin.expires_at)).toBeGreaterThan(Date.now())
    expect(await running(h)).toBe(`cco ${B}`)
    // The install result is the channel update's, shared with it; everything the pin added is snake_case.
    expect(keysOf({ ...j, installed: null }).filter((k) => !/^[a-z0-9_]+$/.test(k))).toEqual([])
  })

  it('says so when the version asked for is running (any spelling): exit 0, nothing installed', { timeout: 60_000 }, async () => {
    const h = host(B)
    const r = await cco(h, ['update', '--version', `${B}+rebuild`, '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Already running ${B}\n`)
    expect(existsSync(h.backupPath)).toBe(false)
  })

  it('refuses a version the broker does not know (exit 1) and text that is not a version (exit 2)', { timeout: 60_000 }, async () => {
    const h = host(A)
    const unknown = await cco(h, ['update', '--version', '2026.9.9', '--yes'])
    expect(unknown.code, show(unknown)).toBe(1)
    expect(unknown.stderr).toContain('Not installing 2026.9.9: release "2026.9.9" not found\n')
    const bad = await cco(h, ['update', '--version', 'latest', '--yes'])
    expect(bad.code, show(bad)).toBe(2)
    expect(bad.stderr).toContain('--version "latest" is not a version')
    expect(await running(h)).toBe(`cco ${A}`)
  })

  it('refuses the yanked version with its reason: exit 1, nothing changed', { timeout: 60_000 }, async () => {
    const h = host(A)
    const r = await cco(h, ['update', '--version', Y, '--yes'])
    expect(r.code, show(r)).toBe(1)
    // The broker's 410, or (within the statement's minute in the edge cache) the channel's yank list.
    expect(r.stderr).toMatch(new RegExp(`^Not installing ${Y}: (release )?${Y.replaceAll('.', '\\.')} was yanked: ${YANK_REASON}$`, 'm'))
    expect(await running(h)).toBe(`cco ${A}`)
  })

  it('asks before installing with --prompt ("n" is no), and --check only says it can be installed', { timeout: 60_000 }, async () => {
    const h = host(A)
    const no = await runCco(h.installPath, ['update', '--version', B, '--prompt'], { home: h.home, input: 'n\n' })
    expect(no.code, show(no)).toBe(0)
    expect(no.stderr).toContain(`Install ${B} now? [Y/n]: `)
    expect(no.stdout).toContain('→ Update cancelled\n')
    const check = await cco(h, ['update', '--version', B, '--check', '--json'])
    expect(check.code, show(check)).toBe(0)
    expect(JSON.parse(check.stdout)).toMatchObject({ status: 'available', installed: null, pin: { version: B, direction: 'upgrade' } })
    expect(await running(h)).toBe(`cco ${A}`)
    const yes = await runCco(h.installPath, ['update', '--version', B, '--prompt'], { home: h.home, input: 'y\n' })
    expect(yes.code, show(yes)).toBe(0)
    expect(yes.stdout).toContain(`✅ Successfully updated to ${B}\n`)
    expect(await running(h)).toBe(`cco ${B}`)
  })

  it('refuses --allow-downgrade without --version (exit 2)', async () => {
    const r = await cco(host(A), ['update', '--allow-downgrade', '--yes'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain('--allow-downgrade only goes with --version X')
  })

  it('leaves `cco --version` the self-test', async () => {
    const r = await cco(host(A), ['--version'])
    expect(r.stdout).toBe(`cco ${A}\n`)
  })
})

describe('statements the broker would not serve, from a stand-in', () => {
  /** A host behind the stand-in that has checked once (so it has a trust state to keep). */
  async function checkedHost(installed: string): Promise<CcoHome> {
    const h = host(installed, standIn.url)
    const check = await cco(h, ['update', '--check'])
    expect(check.code, show(check)).toBe(0)
    expect(Object.keys(trustState(h))).not.toEqual([])
    return h
  }

  it('refuses a statement signed before the yank and replayed: the channel manifest lists the yank', { timeout: 60_000 }, async () => {
    standIn.route(`/v1/releases/${Y}/manifest`, serveBytes(beforeYank, 'application/jose+json'))
    const h = host(A, standIn.url)
    const before = standIn.requests.length
    const r = await cco(h, ['update', '--version', Y, '--yes'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toContain(`Not installing ${Y}: ${Y} was yanked: ${YANK_REASON}\n`)
    expect(standIn.requests.slice(before).map((q) => q.path)).toContain(`/v1/releases/${Y}/manifest`)
    expect(await running(h)).toBe(`cco ${A}`)
    expect(existsSync(h.backupPath)).toBe(false)
  })

  async function expectRefused(h: CcoHome, rule: string, detail: RegExp) {
    const trusted = trustState(h)
    const r = await cco(h, ['update', '--version', B, '--yes'])
    expect(r.code, show(r)).toBe(4)
    expect(r.stderr).toMatch(new RegExp(`^Release manifest refused \\(${rule}\\): ${detail.source}`, 'm'))
    expect(await running(h)).toBe(`cco ${A}`)
    expect(trustState(h)).toEqual(trusted)
  }

  it('refuses a statement signed by a key it does not pin: exit 4, trust state untouched', { timeout: 60_000 }, async () => {
    const stranger: Signer = await createSigner('stranger')
    const honest = JSON.parse(Buffer.from(JSON.parse(beforeYank.toString()).payload, 'base64url').toString()) as Record<string, unknown>
    const forged = await signManifest({ ...honest, version: B, tag: `v${B}` }, [stranger], { header: { typ: RELEASE_JWS_TYP } })
    standIn.route(`/v1/releases/${B}/manifest`, serveBytes(forged, 'application/jose+json'))
    await expectRefused(await checkedHost(A), 'untrusted-key', /not signed by a pinned key \(signed by kid stranger;/)
  })

  it('refuses the channel manifest served in a statement\'s place: exit 4 (typ), trust state untouched', { timeout: 60_000 }, async () => {
    standIn.route(`/v1/releases/${B}/manifest`, forward('/v1/channels/stable/manifest'))
    await expectRefused(await checkedHost(A), 'typ', /signature header has typ "cco-manifest\+json" and alg "EdDSA"; expected typ "cco-release\+json"/)
  })

  it('refuses another release\'s statement and an expired one, both signed by the broker\'s key: exit 4', { timeout: 60_000 }, async () => {
    const h = await checkedHost(A)
    standIn.route(`/v1/releases/${B}/manifest`, forward(`/v1/releases/${C}/manifest`))
    await expectRefused(h, 'payload', new RegExp(`it is about version "${C.replaceAll('.', '\\.')}", not "${B.replaceAll('.', '\\.')}"`))

    const brokerKey: Signer = { jwk: broker.secrets.signingKey, publicKey: broker.secrets.publicKey }
    const statement = await (await fetch(`${broker.url}/v1/releases/${B}/manifest`)).json() as { payload: string }
    const payload = JSON.parse(Buffer.from(statement.payload, 'base64url').toString()) as Record<string, unknown>
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    const expired = await signManifest({ ...payload, issued_at: hourAgo, expires_at: hourAgo }, [brokerKey], { header: { typ: RELEASE_JWS_TYP } })
    standIn.route(`/v1/releases/${B}/manifest`, serveBytes(expired, 'application/jose+json'))
    await expectRefused(h, 'expired', /it expired at /)

    // The same statement, fresh, is installed: the refusals were the rules, not the stand-in.
    const fresh = await signManifest(payload, [brokerKey], { header: { typ: RELEASE_JWS_TYP } })
    standIn.route(`/v1/releases/${B}/manifest`, serveBytes(fresh, 'application/jose+json'))
    const ok = await cco(h, ['update', '--version', B, '--yes'])
    expect(ok.code, show(ok)).toBe(0)
    expect(await running(h)).toBe(`cco ${B}`)
  })
})

describe('the decision, as plain data (update/pin.ts)', () => {
  const asset = { name: 'cco.tar.gz', url: 'https://broker.test/a', size: 1, sha256: 'a'.repeat(64) }
  const statement = (version: string, status = 'live') => ({
    schema: 1 as const, product: 'cco', version, tag: `v${version}`, published_at: '2026-11-01T00:00:00Z', status,
    issued_at: '2026-11-01T00:00:00Z', expires_at: '2026-11-01T01:00:00Z', notes_url: null, assets: { [PLATFORM]: asset },
  })
  const channel = (release: string, yanked: { version: string; reason: string }[] = []) => ({
    schema: 1 as const, product: 'cco', channel: 'stable', seq: 1, issued_at: '2026-11-01T00:00:00Z', expires_at: '2026-11-08T00:00:00Z',
    release: { version: release, tag: `v${release}`, published_at: '2026-11-01T00:00:00Z', notes: '', notes_url: null, assets: { [PLATFORM]: asset } },
    rollout: { percent: 100, halted: false }, yanked,
  })
  const pin = (o: Partial<PinInput>) => decidePin({ statement: statement(B), channel: channel(C), running: A, platform: PLATFORM, allowDowngrade: false, ...o })

  it('installs a newer or (allowed) older live version, refuses the rest', () => {
    expect(pin({})).toMatchObject({ kind: 'install', why: 'pinned', direction: 'upgrade', version: B, asset })
    expect(pin({ running: C })).toMatchObject({ kind: 'refuse', why: 'downgrade' })
    expect(pin({ running: C, allowDowngrade: true })).toMatchObject({ kind: 'install', direction: 'downgrade' })
    expect(pin({ running: `v${B}.0` })).toMatchObject({ kind: 'none', why: 'same' })
    expect(pin({ statement: statement(B, 'withdrawn') })).toMatchObject({ kind: 'refuse', why: 'not-live' })
    expect(pin({ platform: null })).toMatchObject({ kind: 'refuse', why: 'no-asset' })
    // A running build that is not a version is neither older nor newer.
    expect(pin({ running: 'dev' })).toMatchObject({ kind: 'install', direction: 'upgrade' })
  })

  it('refuses a version the channel lists as yanked, even the running one, whatever the statement says', () => {
    const yanked = channel(C, [{ version: `${B}.0`, reason: 'bad' }])
    expect(pin({ channel: yanked })).toEqual({ kind: 'refuse', why: 'yanked', version: B, detail: `${B} was yanked: bad` })
    expect(pin({ channel: yanked, running: B })).toMatchObject({ kind: 'refuse', why: 'yanked' })
  })

  it('names what the daemon would move to next: the channel\'s newer release, or nothing', () => {
    expect(nextAfterPin(channel(C), B, '00000000-0000-4000-8000-000000000000', PLATFORM)).toBe(C)
    expect(nextAfterPin(channel(A), B, '00000000-0000-4000-8000-000000000000', PLATFORM)).toBeNull()
  })
})
