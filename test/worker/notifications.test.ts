// Outgoing notifications through the real Worker (NOTIFY_URLS: two receivers, NOTIFY_SECRET
// set): a change queues its message in the same transaction, the alarm sends it with a valid
// HMAC-SHA256 signature, a failed receiver is retried with backoff and the failure is in the
// audit log with the receiver's origin only, never its secret path.
import { reset, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { postReport, report, uuid } from './fleet-helpers.ts'
import { adminPost, auditLog, fakeNetwork, publish, stub } from './helpers.ts'
import { notifyRetryDelayMs, parseNotifyUrls, redactedUrl } from '../../worker/policy/notify.ts'

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

const SLACK = 'https://hooks.test/services/T0/B0/secret-path'
const LOCAL = 'http://127.0.0.1:8787/notify'

async function hmacHex(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return Array.from(new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body))), (b) => b.toString(16).padStart(2, '0')).join('')
}

async function outbox(): Promise<{ url: string; event: string; attempts: number }[]> {
  return runInDurableObject(stub(), (_i, state) => state.storage.sql.exec<{ url: string; event: string; attempts: number }>('SELECT url, event, attempts FROM notifications ORDER BY id').toArray())
}

async function makeNotificationsDue(): Promise<void> {
  await runInDurableObject(stub(), (_i, state) => {
    state.storage.sql.exec('UPDATE notifications SET next_at = ?', Date.now() - 1)
  })
}

describe('notifications', () => {
  it('sends a halt to every receiver, signed, and retries a receiver that failed', async () => {
    await publish('2026.11.3')
    let localAnswers = 0
    // Read inside the route: a body belongs to the Durable Object that sent it.
    const received: { body: string; signature: string | null }[] = []
    const keep = async (req: Request) => void received.push({ body: await req.text(), signature: req.headers.get('x-cco-signature-256') })
    const net = fakeNetwork({
      [SLACK]: async (req) => (await keep(req), new Response('ok')),
      [LOCAL]: async (req) => (await keep(req), new Response(null, { status: ++localAnswers === 1 ? 503 : 204 })),
    })
    const halted = await adminPost('/v1/channels/beta/halt', { reason: 'crash reports' })
    expect(halted.status).toBe(200)
    // Queued with the change, not sent on its path.
    expect(net.asked).toEqual([])
    expect(await outbox()).toEqual([
      { url: SLACK, event: 'halt', attempts: 0 },
      { url: LOCAL, event: 'halt', attempts: 0 },
    ])

    expect(await runDurableObjectAlarm(stub())).toBe(true)
    expect(net.asked.sort()).toEqual([LOCAL, SLACK])
    expect(received).toHaveLength(2)
    for (const { body, signature } of received) {
      expect(signature).toBe(`sha256=${await hmacHex('test-notify-secret', body)}`)
      const message = JSON.parse(body)
      expect(message).toMatchObject({ event: 'halt', product: 'cco', channel: 'beta', version: '2026.11.3', actor: 'token:release-bot', reason: 'crash reports' })
      expect(message.text).toBe('cco: beta rollout of 2026.11.3 halted by token:release-bot: crash reports')
    }
    expect(await outbox()).toEqual([{ url: LOCAL, event: 'halt', attempts: 1 }])
    const failed = (await auditLog()).filter((e) => e.action === 'notify.failed')
    expect(failed).toEqual([expect.objectContaining({ actor: 'broker', detail: { receiver: 'http://127.0.0.1:8787/…', event: 'halt', attempts: 1, error: 'HTTP 503', retry: true } })])

    await makeNotificationsDue()
    await runDurableObjectAlarm(stub())
    expect(localAnswers).toBe(2)
    expect(await outbox()).toEqual([])
  })

  it('announces a resume, a yank and a promotion, and never writes a receiver’s path to the audit log', async () => {
    await publish('2026.11.3')
    fakeNetwork({})
    await adminPost('/v1/channels/beta/halt', { reason: 'r' })
    await adminPost('/v1/channels/beta/resume')
    await adminPost('/v1/releases/2026.11.3/yank', { reason: 'bad build' })
    expect((await outbox()).map((n) => n.event)).toEqual(['halt', 'halt', 'resume', 'resume', 'yank', 'yank'])
    await runDurableObjectAlarm(stub())
    const audit = JSON.stringify(await auditLog())
    expect(audit).toContain('https://hooks.test/…')
    expect(audit).not.toContain('secret-path')
  })

  it('gives a message up after its last attempt', async () => {
    await publish('2026.11.3')
    fakeNetwork({})
    await adminPost('/v1/channels/beta/halt', { reason: 'r' })
    for (let i = 0; i < 6; i++) {
      await makeNotificationsDue()
      await runDurableObjectAlarm(stub())
    }
    expect(await outbox()).toEqual([])
    const failed = (await auditLog()).filter((e) => e.action === 'notify.failed')
    expect(failed).toHaveLength(12)
    expect(failed.filter((e) => e.detail.retry === false)).toHaveLength(2)
  })
})

describe('auto-halt', () => {
  it('is announced with the guard\'s reason', async () => {
    fakeNetwork({})
    await publish('2026.11.3')
    for (let i = 0; i < 3; i++) {
      const r = report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: '2026.11.3', at: new Date().toISOString() }] })
      expect((await postReport(r)).status).toBe(202)
    }
    // Joins the evaluation the third report started, if it still runs.
    await stub().evaluateGuard('beta')
    expect((await stub().channelStates()).find((c) => c.channel === 'beta')?.rollout.halted_by).toBe('auto-halt')
    const queued = await runInDurableObject(stub(), (_i, state) => state.storage.sql.exec<{ event: string; body: string }>("SELECT event, body FROM notifications WHERE event = 'auto_halt'").toArray())
    expect(queued).toHaveLength(2)
    expect(JSON.parse(queued[0]!.body)).toMatchObject({
      event: 'auto_halt',
      actor: 'auto-halt',
      channel: 'beta',
      version: '2026.11.3',
      text: ':rotating_light: cco: beta rollout of 2026.11.3 halted itself: auto-halt: 3 of 3 hosts (100 %) failed 2026.11.3',
    })
  })
})

describe('rollout complete', () => {
  const settleNow = () =>
    runInDurableObject(stub(), (_i, state) => {
      state.storage.sql.exec('UPDATE channels SET settle_at = ? WHERE settle_at IS NOT NULL', Date.now() - 1)
    })
  const at = () => new Date().toISOString()

  it('is announced once a rollout has been at 100 % for the settle time with no failure', async () => {
    fakeNetwork({})
    await publish('2026.11.3')
    const settle = await runInDurableObject(stub(), (_i, state) => state.storage.sql.exec<{ settle_at: number | null }>("SELECT settle_at FROM channels WHERE name = 'beta'").one().settle_at)
    expect(settle! - Date.now()).toBeGreaterThan(3590_000)
    await postReport(report(uuid(), { channel: 'beta', version: '2026.11.3', events: [{ kind: 'install', outcome: 'installed', from: '2026.11.2', to: '2026.11.3', at: at() }] }))
    await settleNow()
    await runDurableObjectAlarm(stub())
    const complete = (await auditLog()).filter((e) => e.action === 'channel.rollout_complete')
    expect(complete).toEqual([expect.objectContaining({ actor: 'scheduler', target: 'beta', detail: { version: '2026.11.3', percent: 100, settle_s: 3600, attempted: 1, failures: 0 } })])
    const sent = (await auditLog()).filter((e) => e.action === 'notify.failed').map((e) => e.detail.event)
    expect(sent).toContain('rollout_complete')
  })

  it('is not announced when a host failed the version', async () => {
    fakeNetwork({})
    await publish('2026.11.3')
    await postReport(report(uuid(), { channel: 'beta', version: '2026.11.2', events: [{ kind: 'install', outcome: 'failed', from: '2026.11.2', to: '2026.11.3', at: at() }] }))
    await settleNow()
    await runDurableObjectAlarm(stub())
    expect((await auditLog()).filter((e) => e.action === 'channel.rollout_complete')).toEqual([])
  })
})

describe('notify policy', () => {
  it('takes https URLs and loopback http, and refuses anything else', () => {
    expect(parseNotifyUrls(undefined)).toEqual({ ok: true, urls: [] })
    expect(parseNotifyUrls('["https://a.test/x", "http://localhost:9/y"]')).toEqual({ ok: true, urls: ['https://a.test/x', 'http://localhost:9/y'] })
    expect(parseNotifyUrls('["http://a.test/x"]')).toMatchObject({ ok: false, problem: 'entry 0 (http://a.test/…) uses http, not https' })
    expect(parseNotifyUrls('https://a.test')).toMatchObject({ ok: false })
    expect(parseNotifyUrls('["https://u:p@a.test/x"]')).toMatchObject({ ok: false })
  })

  it('backs off from 30 s, doubling, to at most an hour, and shows a receiver by its origin', () => {
    expect([1, 2, 3, 10].map(notifyRetryDelayMs)).toEqual([30_000, 60_000, 120_000, 3_600_000])
    expect(redactedUrl(SLACK)).toBe('https://hooks.test/…')
  })
})
