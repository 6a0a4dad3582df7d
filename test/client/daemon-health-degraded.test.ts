// `/health` tells the truth about update checks, with real daemons (bundles) and a real local
// broker stand-in: after DEGRADED_AFTER_FAILED_CHECKS failed checks in a row (a broker answering
// 500, or a closed port) it says "degraded" with the last error and since when, `cco health` and
// `cco daemon status` say so (both exit 0: the daemon runs), and one successful check makes it
// "ok" again. `cco daemon status` shows times as `config show` does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEGRADED_AFTER_FAILED_CHECKS } from '../../client/src/daemon/service-state.ts'
import { show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { freePort } from '../../support/ports.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, signManifest, type Signer } from '../../support/signed-manifest.ts'
import { daemonHost, getHealth, waitFor, type DaemonHost, type Health } from '../support/daemon-host.ts'

const VERSION = '2026.4.1'
const UTC_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/

let bundle: string
let signer: Signer
let broker: ReleaseServer
/** What the stand-in broker answers for the stable manifest: an error, or the signed manifest. */
let failing = true
const hosts: DaemonHost[] = []

beforeAll(async () => {
  ;[bundle, signer, broker] = await Promise.all([clientBundle({ version: VERSION }), createSigner(), startReleaseServer()])
  const manifest = await signManifest(manifestPayload({ version: VERSION }), [signer])
  broker.route('/v1/channels/stable/manifest', (_req, res) => {
    if (failing) {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end('{"error":{"code":"internal","message":"the broker is down"}}')
      return
    }
    res.writeHead(200, { 'content-type': 'application/jose+json', 'content-length': manifest.length })
    res.end(manifest)
  })
}, 60_000)

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.teardown()))
  await broker?.close()
}, 60_000)

async function host(server: string): Promise<DaemonHost> {
  // A 2 s interval caps the back-off after a network failure at 2 s (it grows up to the interval).
  const h = await daemonHost({ installed: bundle, config: { server, keys: [signer.publicKey], interval: '2s' } })
  hosts.push(h)
  return h
}

function waitForStatus(h: DaemonHost, status: string): Promise<Health> {
  return waitFor(`/health to say ${status}\n--- daemon.log\n${h.log()}`, async () => {
    const got = await getHealth(h.port)
    return got?.body.status === status ? got : null
  }, 30_000)
}

describe('/health after failed update checks', () => {
  it('says degraded with the last error and since when after repeated failures, cco health and daemon status show it, and a successful check makes it ok again', async () => {
    const h = await host(broker.url)
    failing = true
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)

    const degraded = await waitForStatus(h, 'degraded')
    expect(degraded.code).toBe(200)
    const body = degraded.body as Record<string, unknown>
    expect(body.failed_checks).toBeGreaterThanOrEqual(DEGRADED_AFTER_FAILED_CHECKS)
    expect(body.failing_since).toMatch(RFC3339)
    expect(body.last_error).toMatch(/HTTP 500/)
    // The fields come after the usual ones, so the line still starts as an "ok" one does.
    expect(degraded.raw).toMatch(/^\{"status":"degraded","version":"2026\.4\.1",.*"failed_checks":\d+,"failing_since":"[^"]+","last_error":"[^"]+"\}\n$/)
    expect(h.log()).toMatch(/\[ERROR\] Health is now degraded: 3 update checks in a row failed since \d{4}-/)

    const health = await h.cco(['health'])
    expect(health.code, show(health)).toBe(0)
    const [verdict, raw] = health.stdout.split('\n')
    expect(verdict).toMatch(/^⚠️  degraded: \d+ update checks failed in a row since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; last error: .*HTTP 500/)
    expect(JSON.parse(raw!)).toMatchObject({ status: 'degraded', version: VERSION })
    const healthJson = await h.cco(['health', '--json'])
    expect(healthJson.code, show(healthJson)).toBe(0)
    expect(JSON.parse(healthJson.stdout)).toMatchObject({ healthy: false, status: 'degraded', health: { status: 'degraded' } })

    const status = await h.cco(['daemon', 'status'])
    expect(status.code, show(status)).toBe(0)
    expect(status.stdout).toMatch(/^Health: degraded \(\d+ update checks failed in a row since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; last error: .*HTTP 500.*\)$/m)
    const statusJson = JSON.parse((await h.cco(['daemon', 'status', '--json'])).stdout)
    expect(statusJson).toMatchObject({ running: true, healthy: false, health: { status: 'degraded' } })

    failing = false
    const ok = await waitForStatus(h, 'ok')
    expect(ok.body).not.toHaveProperty('last_error')
    expect(ok.body).not.toHaveProperty('failed_checks')
    expect(h.log()).toMatch(/\[INFO\] Health is ok again: an update check completed after \d+ failed ones/)
    const healthy = await h.cco(['health'])
    expect(healthy.code, show(healthy)).toBe(0)
    expect(healthy.stdout.split('\n')[0]).toBe('✅ healthy')

    // Times as `config show` shows them, not RFC 3339.
    const again = await h.cco(['daemon', 'status'])
    const lines = again.stdout.split('\n')
    expect(lines).toContain('Health: ok')
    const lastCheck = lines.find((l) => l.startsWith('Last check: '))!.slice('Last check: '.length)
    expect(lastCheck).toMatch(UTC_TIME)
    const started = lines.find((l) => l.startsWith('Started: '))!.slice('Started: '.length)
    expect(started).toMatch(UTC_TIME)
    const shown = await h.cco(['config', 'get', 'updates.last_check'])
    expect(shown.stdout).toMatch(/^updates\.last_check = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/)
  }, 90_000)

  it('says degraded when the broker cannot be reached at all (a closed port)', async () => {
    const h = await host(`http://127.0.0.1:${await freePort()}`)
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    expect((await getHealth(h.port))?.body.status).toBe('ok')
    const degraded = await waitForStatus(h, 'degraded')
    expect((degraded.body as Record<string, unknown>).last_error).toMatch(/127\.0\.0\.1/)
    const status = await h.cco(['daemon', 'status'])
    expect(status.code, show(status)).toBe(0)
    expect(status.stdout).toMatch(/^Health: degraded \(/m)
  }, 90_000)
})
