// Scheduled checks by a real daemon against a local signed-manifest server: a short interval
// triggers checks (log and last_check), `never` and `enabled = false` trigger none, checks stay
// inside their jitter window, network failures back off, /health reports what was found.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { show } from '../../support/cco-process.ts'
import { daemonHost, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { freePort } from '../../support/ports.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { manifestPayload, signManifest } from '../../support/signed-manifest.ts'
import { startUpdateFixture, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let fx: UpdateFixture
let timed: ReleaseServer
const manifestTimes: number[] = []
const hosts: DaemonHost[] = []

beforeAll(async () => {
  fx = await startUpdateFixture()
  await fx.publish({ version: VERSION_B })
  // A second server that records when each manifest request arrived (ms), for the jitter window.
  timed = await startReleaseServer()
  const bytes = await signManifest(manifestPayload({ version: VERSION_A }), [fx.signer])
  timed.route('/v1/channels/stable/manifest', (_req, res) => {
    manifestTimes.push(Date.now())
    res.writeHead(200, { 'content-type': 'application/jose+json', 'content-length': bytes.length })
    res.end(bytes)
  })
}, 60_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.teardown()))
  await timed?.close()
  await fx?.close()
}, 60_000)

async function host(config: Parameters<typeof daemonHost>[0]['config'], server = fx.server.url): Promise<DaemonHost> {
  const h = await daemonHost({ installed: fx.bundles[VERSION_A]!, config: { server, keys: [fx.signer.publicKey], ...config } })
  hosts.push(h)
  return h
}

const checks = (log: string) => log.match(/\[INFO\] Starting update check$/gm)?.length ?? 0

describe.concurrent('scheduled checks', () => {
  it('a 2s interval triggers checks: logged in sequence, last_check recorded, /health reports the newer version', async () => {
    const h = await host({ interval: '2s' })
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    await h.waitForLog(/(?:Starting update check[\s\S]*){3}/, 20_000)
    const messages = h.log().split('\n').map((l) => l.replace(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] \[INFO\] /, ''))
    const first = messages.indexOf('Starting update check')
    expect(messages[first - 1]).toMatch(/^Checking for updates 2s on channel stable from http:\/\/127\.0\.0\.1:\d+ \(auto-install off\)$/)
    expect(messages.slice(first, first + 5)).toEqual([
      'Starting update check',
      `Current version: ${VERSION_A}`,
      `Latest version: ${VERSION_B}`,
      `Update available: ${VERSION_B} (${VERSION_B} is newer than ${VERSION_A})`,
      'updates.auto_install is false: install it with `cco update`',
    ])
    const get = await h.cco(['config', 'get', 'updates.last_check'])
    expect(get.stdout).toMatch(/^updates\.last_check = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/)
    const health = await h.health()
    expect(health?.body).toMatchObject({ status: 'ok', version: VERSION_A, update_available: true, latest_version: VERSION_B })
    expect(health?.body.last_check).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    // Nothing was installed.
    expect((await h.cco(['--version'])).stdout).toBe(`cco ${VERSION_A}\n`)
  })

  it('`never` and `enabled = false` trigger no check', async () => {
    const [never, off] = await Promise.all([host({ interval: 'never' }), host({ interval: '2s', enabled: false })])
    for (const h of [never, off]) expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    await new Promise((r) => setTimeout(r, 4_500))
    for (const h of [never, off]) {
      expect(checks(h.log()), h.log()).toBe(0)
      expect((await h.cco(['config', 'get', 'updates.last_check'])).stdout).toBe('updates.last_check = Never\n')
      expect((await h.health())?.body.last_check).toBeNull()
    }
    expect(never.log()).toContain('Scheduled update checks are off (updates.check_interval = never)')
    expect(off.log()).toContain('Scheduled update checks are off (updates.enabled = false)')

    // Turned on without a restart: the next tick (or SIGHUP, here) picks it up.
    off.config({ interval: '2s', enabled: true })
    process.kill(off.pidRecord()!.pid, 'SIGHUP')
    await off.waitForLog(/Starting update check/, 10_000)
    expect(off.log()).toContain('Configuration changed: Checking for updates 2s')
  })

  it('keeps consecutive checks inside [interval, interval + 10 %) of the previous one', async () => {
    const h = await host({ interval: '2s' }, timed.url)
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const from = manifestTimes.length
    await waitFor('four manifest requests', () => manifestTimes.length - from >= 4, 20_000)
    await h.cco(['daemon', 'stop'])
    const times = manifestTimes.slice(from)
    expect(times.length).toBeGreaterThanOrEqual(4)
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    for (const gap of gaps) {
      // Measured from the end of the previous check: at least the interval, at most interval +
      // jitter (< 200 ms) + the check itself and timer slack.
      expect(gap, `gaps ${gaps.join(', ')}`).toBeGreaterThanOrEqual(2_000)
      expect(gap, `gaps ${gaps.join(', ')}`).toBeLessThan(2_200 + 1_000)
    }
  })

  it('backs off after a network failure and logs it', async () => {
    const h = await host({ interval: '2s' }, `http://127.0.0.1:${await freePort()}`)
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    await h.waitForLog(/(?:Update check failed: [^\n]+; retrying in 2s[\s\S]*){2}/, 20_000)
    expect((await h.health())?.body).toMatchObject({ status: 'ok', last_check: null, update_available: false })
    const status = await h.cco(['daemon', 'status'])
    expect(status.code, show(status)).toBe(0)
  })
})
