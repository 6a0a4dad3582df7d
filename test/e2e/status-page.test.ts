// The status page as a person sees it, in a real browser (Debian's Chromium, headless, driven by
// puppeteer-core) against the real broker under `wrangler dev`: releases announced by webhook, a
// promotion and a halt through the admin API, a fleet posted with a fleet token. Without a
// session the page shows the channels and a sign-in form and none of the fleet; signing in
// through the form shows each version's fleet bar with its count, each channel's rollout progress
// and the newest audit entries; the browser logs no error (a CSP violation would be one); and a
// screenshot of a phone-sized page is saved to test/e2e/artifacts/status.png.
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FleetAccepted, type FleetReport, type FleetView } from '../../contract/fleet.ts'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

const CHROMIUM = '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
const ARTIFACTS = resolve(import.meta.dirname, 'artifacts')
if (!HAVE_CHROMIUM) console.warn(`status page browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`)

const A = '2026.11.1'
const B = '2026.11.2'
const OLD = '2026.11.0'
const HALT_REASON = 'canary hosts crash on start'

let broker: DevBroker
let downloads: ReleaseServer
let browser: Browser

/** What each seeded host reports: 4 on stable running A, 2 on stable still on OLD, 1 whose install of A failed, 3 on beta running B. */
const HOSTS: { channel: 'stable' | 'beta'; version: string; events: Partial<FleetReport['events'][number]>[] }[] = [
  ...Array.from({ length: 4 }, () => ({ channel: 'stable' as const, version: A, events: [{ kind: 'install' as const, outcome: 'installed' as const, from: OLD, to: A }] })),
  ...Array.from({ length: 2 }, () => ({ channel: 'stable' as const, version: OLD, events: [{ kind: 'check' as const, outcome: 'not-in-rollout' as const }] })),
  { channel: 'stable', version: OLD, events: [{ kind: 'install', outcome: 'failed', to: A, error_class: 'download.timeout' }] },
  ...Array.from({ length: 3 }, () => ({ channel: 'beta' as const, version: B, events: [{ kind: 'check' as const, outcome: 'halted' as const }] })),
]

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${broker.url}${path}`, init)
  return { status: res.status, body: await res.json() }
}

const admin = (path: string, body?: unknown) =>
  api(path, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })

describe.skipIf(!HAVE_CHROMIUM)(`the status page in headless Chromium${HAVE_CHROMIUM ? '' : ` (skipped: no Chromium at ${CHROMIUM})`}`, () => {
  beforeAll(async () => {
    ;[broker, downloads] = await Promise.all([startBroker({ fleetReports: true, vars: { ASSET_HOSTS: '127.0.0.1' } }), startReleaseServer()])
    for (const version of [A, B]) {
      const { hook } = await announceRelease(broker, downloads, { version, binary: Buffer.from(`#!/bin/sh\necho cco ${version}\n`) })
      expect(hook.status, broker.output()).toBe(200)
    }
    expect((await admin('/v1/channels/stable/promote', { version: A, percent: 40 })).status).toBe(200)
    expect((await admin('/v1/channels/beta/halt', { reason: HALT_REASON })).status).toBe(200)
    for (const h of HOSTS) {
      const report: FleetReport = {
        schema: 1,
        product: 'cco',
        host_id: randomUUID(),
        channel: h.channel,
        platform: 'linux-x86_64',
        version: h.version,
        check_interval_s: 3600,
        events: h.events.map((e) => ({ id: randomUUID(), at: new Date().toISOString(), kind: 'check', outcome: 'up-to-date', ...e }) as FleetReport['events'][number]),
      }
      const res = await api('/v1/reports', { method: 'POST', headers: { authorization: `Bearer ${broker.fleetToken}`, 'content-type': 'application/json' }, body: JSON.stringify(report) })
      expect(res.status, JSON.stringify(res.body)).toBe(202)
    }
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] })
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await broker?.stop()
    await downloads?.close()
  })

  /** A phone-sized tab that records every console error and page error. */
  async function phoneTab(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage()
    await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true })
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`)
    })
    page.on('pageerror', (e) => errors.push(`page: ${e instanceof Error ? e.message : String(e)}`))
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`))
    return { page, errors }
  }

  const texts = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()))

  it('shows the channels and a sign-in form without a session, then the fleet, the rollouts and the audit log once signed in', { timeout: 90_000 }, async () => {
    const { page, errors } = await phoneTab()
    const res = await page.goto(`${broker.url}/status`, { waitUntil: 'load' })
    expect(res?.status()).toBe(200)

    // Signed out: the channels, and nothing of the fleet.
    expect(await texts(page, '#channels article[data-channel="stable"] .version')).toEqual([A])
    expect(await texts(page, '#channels article[data-channel="stable"] .percent')).toEqual(['40 %'])
    expect(await texts(page, '#channels article[data-channel="beta"] .version')).toEqual([B])
    expect(await texts(page, '#channels article[data-channel="beta"] .halted')).toEqual(['Halted'])
    expect(await texts(page, '#channels article[data-channel="beta"] .reason')).toEqual([HALT_REASON])
    for (const hidden of ['#fleet', '#rollouts', '#audit']) expect(await page.$(hidden), hidden).toBeNull()
    const signedOut = await page.evaluate(() => document.body.innerText)
    expect(signedOut).not.toContain('hosts reporting')
    expect(signedOut).not.toContain('token:e2e')

    // Signing in through the form.
    await page.type('#token', broker.adminToken)
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#sign-in button[type="submit"]')])
    expect(page.url()).toBe(`${broker.url}/status`)
    expect(await texts(page, '#session .actor')).toEqual(['token:e2e'])
    const [cookie] = await browser.cookies()
    expect(cookie).toMatchObject({ name: '__Secure-cco-status', path: '/status', httpOnly: true, secure: true, sameSite: 'Strict' })
    expect(cookie!.value).not.toContain(broker.adminToken)
    expect(await page.evaluate(() => document.cookie)).toBe('') // HttpOnly: no script could read it

    // The fleet by version: one bar per version, its count, and a bar as wide as its share.
    const bars = await page.$$eval('#fleet li.version-bar', (els) =>
      els.map((li) => {
        const track = li.querySelector('.bar')!.getBoundingClientRect().width
        const filled = [...li.querySelectorAll('.bar span')].reduce((w, s) => w + s.getBoundingClientRect().width, 0)
        return { version: li.querySelector('.version')!.textContent, count: li.querySelector('.count')!.textContent, width: filled / track }
      }),
    )
    expect(bars.map((b) => [b.version, b.count])).toEqual([
      [B, '3'],
      [A, '4'],
      [OLD, '3'],
    ])
    for (const b of bars) expect(b.width, b.version!).toBeCloseTo(Number(b.count) / HOSTS.length, 1)
    expect(await texts(page, '#fleet .hosts')).toEqual([String(HOSTS.length)])

    // Each channel's rollout progress, as the admin API's fleet view counts it.
    const view: FleetView = FleetAccepted.FleetView.parse((await admin('/v1/fleet')).body) as FleetView
    const stable = view.rollouts.find((r) => r.channel === 'stable')!
    expect(stable).toMatchObject({ version: A, percent: 40, on_channel: 7, installed: 4, failed: 1 })
    for (const r of view.rollouts) {
      const legend = await page.$$eval(`#rollouts article[data-channel="${r.channel}"] .legend li`, (lis) =>
        Object.fromEntries(lis.map((li) => [li.getAttribute('data-part'), Number(li.querySelector('.count')!.textContent)])),
      )
      const outside = r.on_channel - r.installed - r.failed - r.rolled_back - r.not_seen
      expect(legend, r.channel).toEqual({ installed: r.installed, failed: r.failed, rolled_back: r.rolled_back, not_seen: r.not_seen, outside })
      expect(await texts(page, `#rollouts article[data-channel="${r.channel}"] .on-channel`)).toEqual([String(r.on_channel)])
    }
    expect(await texts(page, '#rollouts article[data-channel="beta"] h3 .sub')).toEqual([`${B} at 100 %, halted`])

    // The newest audit entries: time, actor, action, target.
    const rows = await page.$$eval('#audit tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())))
    expect(rows.length).toBeGreaterThan(2)
    expect(rows.length).toBeLessThanOrEqual(20)
    const changes = rows.filter(([, , action]) => action!.startsWith('channel.'))
    expect(changes.slice(0, 2).map((r) => r.slice(1))).toEqual([
      ['token:e2e', 'channel.halted', 'beta'],
      ['token:e2e', 'channel.promoted', 'stable'],
    ])
    expect(changes[0]![0]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/)

    mkdirSync(ARTIFACTS, { recursive: true })
    const shot = join(ARTIFACTS, 'status.png')
    await page.screenshot({ path: shot, fullPage: true })
    console.log(`status page screenshot: ${shot}`)

    // Signing out shows the public page again.
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#session button[type="submit"]')])
    expect(await page.$('#fleet')).toBeNull()
    expect(await page.$('#sign-in form')).not.toBeNull()
    expect(await browser.cookies()).toEqual([])

    expect(errors).toEqual([])
    await page.close()
  })

  it('answers a wrong token in the form with a 401 page that shows no data', { timeout: 60_000 }, async () => {
    const { page, errors } = await phoneTab()
    await page.goto(`${broker.url}/status`, { waitUntil: 'load' })
    await page.type('#token', 'not-the-token')
    const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#sign-in button[type="submit"]')])
    expect(res?.status()).toBe(401)
    expect(await texts(page, '#message .message')).toEqual(['invalid bearer token'])
    for (const hidden of ['#channels', '#fleet', '#rollouts', '#audit']) expect(await page.$(hidden), hidden).toBeNull()
    expect(await browser.cookies()).toEqual([])
    // The 401 is the page's own answer; Chromium logs it as a failed resource load, nothing else.
    expect(errors.filter((e) => !e.includes('401'))).toEqual([])
    await page.close()
  })
})
