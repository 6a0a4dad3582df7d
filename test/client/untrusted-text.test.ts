// Text that came from the network or a file never reaches a terminal or daemon.log raw: real cco
// processes fed escape sequences, C1 controls, CR, BS, DEL, NUL and bidi overrides through
// every printed field (signed and unsigned manifests, archive entries, broker refusals and
// audit entries, config values, /health answers, daemon.log) print them as visible escapes.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CcoHome } from '../../support/cco-home.ts'
import { runCco, show, spawnCco, type CcoRun } from '../../support/cco-process.ts'
import { releaseTarGz, tarGz } from '../../support/archives.ts'
import { daemonHost, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { startFakeAdminBroker, type FakeAdminBroker } from '../support/release-admin-fake.ts'
import { createSigner, manifestPayload, sha256, signManifest } from '../../support/signed-manifest.ts'
import { PLATFORM, startUpdateFixture, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

/** Everything a terminal could act on, except `\n` (and `\t` when allowed). */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu

function rawControls(text: string, o: { tabs?: boolean } = {}): string[] {
  const found = [...text.matchAll(RAW)].map((m) => `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m.index}`)
  if (!o.tabs) found.push(...[...text.matchAll(/\t/g)].map((m) => `TAB at ${m.index}`))
  return found
}

function expectClean(run: CcoRun, o: { tabs?: boolean } = {}): void {
  expect(rawControls(run.stdout, o), show(run)).toEqual([])
  expect(rawControls(run.stderr, o), show(run)).toEqual([])
}

/** A line that starts with `text`, as a spoofed line would. */
const startsLine = (out: string, text: string) => out.split('\n').some((l) => l.startsWith(text))

// The payloads: clear the screen, write the clipboard (OSC 52), go back to the line start and
// draw a fake success line, colour via C1 CSI, reverse the text direction, erase characters.
const CLEAR = '\x1b[2J\x1b[H'
const OSC52 = '\x1b]52;c;ZWNobyBwd25lZA==\x07'
const FAKE_OK = '\r✅ Successfully updated to 6.6.6'
const C1 = '\u009b31m'
const BIDI = '\u202egpj.exe\u202c'
const ERASE = 'x\b\x7f\x00'
const EVIL = `${CLEAR}${OSC52}${C1}${BIDI}${ERASE}${FAKE_OK}`
/** How EVIL looks once made visible. */
const EVIL_SHOWN = '\\x1b[2J\\x1b[H\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x9b31m\\u202egpj.exe\\u202cx\\x08\\x7f\\x00\\r✅ Successfully updated to 6.6.6'

let fx: UpdateFixture
let fake: FakeAdminBroker
const daemons: DaemonHost[] = []

beforeAll(async () => {
  fx = await startUpdateFixture()
  fake = await startFakeAdminBroker()
}, 60_000)
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.teardown()))
  await fake?.close()
  await fx?.close()
}, 60_000)

let seq = 1000
/** Serves `payload` (signed by the fixture's pinned key unless `sign` says otherwise) on `channel`. */
async function serve(payload: Record<string, unknown>, o: { channel?: string; sign?: (p: unknown) => Promise<Buffer> } = {}): Promise<void> {
  const bytes = o.sign ? await o.sign(payload) : await signManifest(payload, [fx.signer])
  fx.server.manifest(o.channel ?? 'stable', bytes)
}

/** An installable archive of B under an asset name of our choosing. */
function archiveOfB(name: string, archive = releaseTarGz(readFileSync(fx.bundles[VERSION_B]!))) {
  const path = `/download/untrusted/${seq}/${encodeURIComponent(name)}`
  fx.server.file(path, archive)
  return { [PLATFORM]: { name, url: `${fx.server.url}${path}`, size: archive.length, sha256: sha256(archive) } }
}

describe('a signed manifest with hostile release notes, yank reason and asset name', () => {
  const notes = `Fixes:\n\t- the proxy bug ${EVIL}\r\nThanks 🎉 café 日本語 👩‍💻`
  const reason = `crashes\tat start${CLEAR}\nFAKE: all hosts are safe\u2028${BIDI}`
  const asset = `cco-${EVIL}\nFAKE asset.tar.gz`

  beforeAll(async () => {
    await serve(manifestPayload({ version: VERSION_B, seq: ++seq, notes, yanked: [{ version: VERSION_A, reason }], assets: archiveOfB(asset) }))
  })

  it('cco update shows them escaped: notes keep their lines and tabs, nothing else starts a line', async () => {
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expectClean(r, { tabs: true })
    // Tabs only in the notes.
    expect(r.stdout.split('\n').filter((l) => l.includes('\t'))).toEqual([`  \t- the proxy bug ${EVIL_SHOWN}`])
    expect(r.stdout).toContain(`\n  Fixes:\n  \t- the proxy bug ${EVIL_SHOWN}\n  Thanks 🎉 café 日本語 👩‍💻\n`)
    expect(r.stdout).toContain(`⚠️  Your version ${VERSION_A} was withdrawn: crashes\\tat start\\x1b[2J\\x1b[H\\nFAKE: all hosts are safe\\u2028\\u202egpj.exe\\u202c\n`)
    expect(r.stdout).toContain(`→ Downloading cco-${EVIL_SHOWN}\\nFAKE asset.tar.gz (`)
    expect(startsLine(r.stdout, 'FAKE')).toBe(false)
    expect(startsLine(r.stdout, '✅ Successfully updated to 6.6.6')).toBe(false)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}\n`)
  })

  it('cco update --check --json escapes C1 and bidi controls too, and parses back to the same text', async () => {
    const r = await fx.run(fx.host(), ['update', '--check', '--json'])
    expect(r.code, show(r)).toBe(0)
    expectClean(r)
    expect(r.stdout).toContain('\\u009b31m\\u202egpj.exe\\u202c')
    const j = JSON.parse(r.stdout) as { notes: string }
    expect(j.notes).toBe(notes)
  })
})

describe('manifests that are refused', () => {
  const kid = `evil${OSC52}${CLEAR}${C1}${BIDI}${FAKE_OK}`

  it('an unsigned (unpinned) manifest whose JWS kid carries escapes: the refusal names it escaped', async () => {
    const stranger = await createSigner('stranger')
    await serve(manifestPayload({ version: VERSION_B, seq: ++seq }), { sign: (p) => signManifest(p, [stranger], { kid }) })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(4)
    expectClean(r)
    expect(r.stderr).toContain(`Manifest refused (untrusted-key): not signed by a pinned key (signed by kid evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J\\x1b[H\\x9b31m\\u202egpj.exe\\u202c\\r✅ Successfully updated to 6.6.6; pinned: test-key-1)\n`)
    const json = await fx.run(h, ['update', '--check', '--json'])
    expectClean(json)
    expect((JSON.parse(json.stdout) as { error: { message: string } }).error.message).toContain(`signed by kid ${kid};`)
  })

  it('a manifest whose JWS typ carries C1 and bidi controls (JSON.stringify leaves them raw)', async () => {
    await serve(manifestPayload({ version: VERSION_B, seq: ++seq }), { sign: (p) => signManifest(p, [fx.signer], { header: { typ: `x${C1}${BIDI}${CLEAR}` } }) })
    const r = await fx.run(fx.host(), ['update', '--check'])
    expect(r.code, show(r)).toBe(4)
    expectClean(r)
    expect(r.stderr).toContain('Manifest refused (typ): signature header has typ "x\\x9b31m\\u202egpj.exe\\u202c\\u001b[2J\\u001b[H"')
  })

  it('an archive entry name with C1 and bidi controls in the extraction refusal', async () => {
    const archive = tarGz([{ name: `../${C1}${BIDI}cco`, body: 'x' }])
    await serve(manifestPayload({ version: VERSION_B, seq: ++seq, assets: archiveOfB('cco-evil.tar.gz', archive) }))
    const r = await fx.run(fx.host(), ['update', '--yes'])
    expect(r.code, show(r)).toBe(4)
    expectClean(r)
    expect(r.stderr).toContain('Archive refused: entry "../\\x9b31m\\u202egpj.exe\\u202ccco" escapes the archive root (..)')
  })
})

describe('cco release against a broker that answers with escapes', () => {
  const cco = (args: string[]) => runCco(fx.bundles[VERSION_A]!, [...args, '--server', fake.url], { home: fx.host().home, env: { CCO_ADMIN_TOKEN: 'cco-test-token' } })

  it("shows the broker's error code and message escaped (JSON error body and plain text)", async () => {
    fake.answer('POST /v1/channels/stable/promote', { status: 409, body: { error: { code: `conflict${CLEAR}`, message: `already there${OSC52}\nFAKE line${FAKE_OK}${BIDI}` } } })
    const r = await cco(['release', 'promote', '2026.11.3'])
    expect(r.code, show(r)).toBe(1)
    expectClean(r)
    expect(r.stderr).toBe(
      'the broker refused to promote 2026.11.3 to stable (HTTP 409 conflict\\x1b[2J\\x1b[H): already there\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\nFAKE line\\r✅ Successfully updated to 6.6.6\\u202egpj.exe\\u202c\n',
    )
    fake.answer('POST /v1/channels/stable/promote', { status: 502, body: `<html>${CLEAR}Bad gateway${C1}</html>`, contentType: 'text/html' })
    const plain = await cco(['release', 'promote', '2026.11.3'])
    expect(plain.code, show(plain)).toBe(3)
    expectClean(plain)
    expect(plain.stderr).toContain('(HTTP 502): <html>\\x1b[2J\\x1b[HBad gateway\\x9b31m</html>')
  })

  it('escapes audit entries (actor, action, target, detail) in the table and keeps its columns aligned', async () => {
    const entries = [
      { id: 7, at: '2026-11-26T20:00:00Z', actor: `alice${CLEAR}`, action: 'channel.halted', target: `stable${BIDI}`, delivery: null, detail: { reason: `oops${OSC52}\nFAKE${C1}` } },
      { id: 6, at: '2026-11-26T19:00:00Z', actor: 'bob', action: `x${FAKE_OK}`, target: null, delivery: null, detail: {} },
    ]
    fake.answer('GET /v1/audit', { body: { entries, next_before: null } })
    const r = await cco(['release', 'audit'])
    expect(r.code, show(r)).toBe(0)
    expectClean(r)
    const lines = r.stdout.split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[1]).toContain('alice\\x1b[2J\\x1b[H')
    expect(lines[1]).toContain('reason=oops\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\nFAKE\\x9b31m')
    expect(lines[2]).toContain('x\\r✅ Successfully updated to 6.6.6')
    expect(lines[1]!.indexOf('channel.halted')).toBe(lines[0]!.indexOf('ACTION'))
    expect(lines[2]!.indexOf('bob')).toBe(lines[0]!.indexOf('ACTOR'))

    const json = await cco(['release', 'audit', '--json'])
    expectClean(json)
    expect((JSON.parse(json.stdout) as { entries: unknown }).entries).toEqual(entries)
  })

  it('escapes halt and yank reasons in cco release status', async () => {
    const rollout = { percent: 10, halted: true, reason: `bad${CLEAR}\nFAKE${BIDI}` }
    fake.answer('GET /v1/channels', { body: { channels: [{ channel: 'stable', version: '2026.11.3', seq: 3, rollout, expires_at: '2026-12-03T20:00:00Z' }] } })
    fake.answer('GET /v1/releases', {
      body: { releases: [{ version: '2026.11.3', status: `live${C1}`, channels: ['stable'], published_at: '2026-11-25T14:00:00Z', yanked: { reason: `gone${OSC52}${FAKE_OK}` } }] },
    })
    const r = await cco(['release', 'status'])
    expect(r.code, show(r)).toBe(0)
    expectClean(r)
    expect(r.stdout).toContain('yes: bad\\x1b[2J\\x1b[H\\nFAKE\\u202egpj.exe\\u202c\n')
    expect(r.stdout).toContain('live\\x9b31m')
    expect(r.stdout).toContain('yes: gone\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\r✅ Successfully updated to 6.6.6\n')
    expect(startsLine(r.stdout, 'FAKE')).toBe(false)
  })
})

describe('config values echoed back', () => {
  function hostWithConfig(extra: string): CcoHome {
    const h = fx.host()
    writeFileSync(h.configFile, `[updates]\n${extra}\n`)
    return h
  }

  it('a bad value with escapes in the config file is shown escaped in the error (and in cco version)', async () => {
    // TOML decodes \u001b to ESC; the C1 and bidi characters are written raw.
    const h = hostWithConfig(`channel = "be\\u001b[2J\\rta${C1}${BIDI}"`)
    const r = await fx.run(h, ['config', 'show'])
    expect(r.code, show(r)).toBe(2)
    expectClean(r)
    // The config messages quote values with JSON.stringify (ESC as \u001b); the C1 and bidi
    // characters it leaves raw are escaped when printed.
    expect(r.stderr).toContain('"be\\u001b[2J\\rta\\x9b31m\\u202egpj.exe\\u202c"')
    const v = await fx.run(h, ['version'])
    expect(v.code, show(v)).toBe(0)
    expectClean(v)
    expect(v.stderr).toContain('"be\\u001b[2J\\rta\\x9b31m\\u202egpj.exe\\u202c"')
  })

  it('cco config get/show print an accepted value with escapes escaped, and set echoes a refused one escaped', async () => {
    // A path under HOME (0700), so that the CA bundle's directory passes the file-trust rule.
    const h = fx.host()
    writeFileSync(h.configFile, `[network]\nca_file = ${JSON.stringify(`${h.home}/ca\x1b]52;c;aGk=\x07`).slice(0, -1)}${BIDI}.pem"\n`)
    const get = await fx.run(h, ['config', 'get', 'network.ca_file'])
    expect(get.code, show(get)).toBe(0)
    expectClean(get)
    expect(get.stdout).toBe(`network.ca_file = ${h.home}/ca\\x1b]52;c;aGk=\\x07\\u202egpj.exe\\u202c.pem\n`)
    const showRun = await fx.run(h, ['config', 'show'])
    expectClean(showRun)
    expect(showRun.stdout).toContain(`  CA file: ${h.home}/ca\\x1b]52;c;aGk=\\x07\\u202egpj.exe\\u202c.pem\n`)
    const json = await fx.run(h, ['config', 'show', '--json'])
    expectClean(json)
    expect((JSON.parse(json.stdout) as { network: { ca_file: string } }).network.ca_file).toBe(`${h.home}/ca\x1b]52;c;aGk=\x07${BIDI}.pem`)
    const set = await fx.run(h, ['config', 'set', 'updates.channel', `x${CLEAR}${C1}`])
    expect(set.code, show(set)).toBe(2)
    expectClean(set)
    expect(set.stderr).toContain('invalid value "x\\u001b[2J\\u001b[H\\x9b31m" for updates.channel')
  })
})

describe('cco health', () => {
  let server: Server
  let port: number
  let answer: { status: number; body: string }
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(answer.body)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('escapes what answers on the daemon port, healthy or not', async () => {
    const h = fx.host({ extra: `[daemon]\nport = ${port}\n` })
    answer = { status: 503, body: JSON.stringify({ status: `down${CLEAR}${FAKE_OK}`, version: `1${C1}` }) }
    const bad = await fx.run(h, ['health'])
    expect(bad.code, show(bad)).toBe(3)
    expectClean(bad)
    expect(bad.stderr).toContain('status "down\\x1b[2J\\x1b[H\\r✅ Successfully updated to 6.6.6" (version 1\\x9b31m)')
    answer = { status: 200, body: `{"status":"ok","version":"1${C1}${BIDI}","uptime_seconds":1,"channel":"stable","last_check":null,"update_available":false}` }
    const ok = await fx.run(h, ['health'])
    expect(ok.code, show(ok)).toBe(0)
    expectClean(ok)
    expect(ok.stdout).toContain('"version":"1\\x9b31m\\u202egpj.exe\\u202c"')
    const json = await fx.run(h, ['health', '--json'])
    expectClean(json)
    expect((JSON.parse(json.stdout) as { health: { version: string } }).health.version).toBe(`1${C1}${BIDI}`)
  })
})

describe('the daemon log', () => {
  it('cco daemon logs escapes a daemon.log written by something else, with and without --follow and --json', async () => {
    const h = fx.host()
    const log = join(h.stateDir, 'daemon.log')
    mkdirSync(dirname(log), { recursive: true })
    writeFileSync(log, `[2026-01-01 00:00:00 UTC] [INFO] hello ${EVIL}\tend\n`)
    const r = await fx.run(h, ['daemon', 'logs'])
    expect(r.code, show(r)).toBe(0)
    expectClean(r)
    expect(r.stdout).toBe(`[2026-01-01 00:00:00 UTC] [INFO] hello ${EVIL_SHOWN}\\tend\n`)
    const json = await fx.run(h, ['daemon', 'logs', '--json'])
    expectClean(json)
    expect((JSON.parse(json.stdout) as { lines: string[] }).lines).toEqual([`[2026-01-01 00:00:00 UTC] [INFO] hello ${EVIL}\tend`])

    const child = spawnCco(h.installPath, ['daemon', 'logs', '-f', '-n', '1'], { home: h.home })
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()))
    try {
      await waitFor('the first line', () => out.includes('hello'), 15_000)
      appendFileSync(log, `later ${FAKE_OK}${C1}\n`)
      await waitFor('the appended line', () => out.includes('later'), 15_000)
    } finally {
      child.kill('SIGINT')
      await closed
    }
    expect(rawControls(out), out).toEqual([])
    expect(out).toContain('later \\r✅ Successfully updated to 6.6.6\\x9b31m\n')
  })

  it('a running daemon writes refused kids and bad config values to daemon.log escaped', async () => {
    const stranger = await createSigner('stranger')
    const kid = `evil${OSC52}${C1}${BIDI}\nFAKE [ERROR] line`
    await serve(manifestPayload({ version: VERSION_B, channel: 'beta', seq: ++seq }), { channel: 'beta', sign: (p) => signManifest(p, [stranger], { kid }) })
    const d = await daemonHost({ installed: fx.bundles[VERSION_A]!, config: { server: fx.server.url, keys: [fx.signer.publicKey], interval: '2s', channel: 'beta' } })
    daemons.push(d)
    expect((await d.cco(['daemon', 'start'])).code).toBe(0)
    await d.waitForLog(/Update refused: Manifest refused \(untrusted-key\)[^\n]*/, 20_000)
    // A config value with escapes, re-read by the running daemon.
    writeFileSync(d.configFile, readFileSync(d.configFile, 'utf8').replace('channel = "beta"', `channel = "beta\\u001b[2J${C1}"`))
    await d.waitForLog(/Keeping the previous settings: [^\n]*/, 20_000)
    const text = d.log()
    expect(rawControls(text), text).toEqual([])
    expect(text).toContain('signed by kid evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x9b31m\\u202egpj.exe\\u202c\\nFAKE [ERROR] line;')
    expect(text).toContain('"beta\\u001b[2J\\x9b31m"')
    expect(text.split('\n').some((l) => l.startsWith('FAKE'))).toBe(false)
    const logs = await d.cco(['daemon', 'logs'])
    expectClean(logs)
    expect(logs.stdout).toContain('signed by kid evil\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x9b31m')
  }, 60_000)
})
