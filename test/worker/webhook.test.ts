// POST /webhooks/github: the checks before anything is recorded, and idempotency. Every
// refusal here must leave the broker exactly as it was.
import { reset } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import worker from '../../worker/index.ts'
import { WEBHOOK_MAX_BYTES } from '../../worker/routes/webhooks.ts'
import { releasePayload, signBody } from '../../support/github.ts'
import { BROKER, SECRET, archives, auditLog, deliveryId, postWebhook, sendRelease, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

/** Calls the Worker's fetch handler directly, with some vars or secrets replaced. */
async function callWorker(request: Request, overrides: Partial<Env>): Promise<Response> {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext
  return worker.fetch(request as Request<unknown, IncomingRequestCfProperties>, { ...env, ...overrides }, ctx)
}

/** What a refusal must not change: releases, audit log, channel seqs. */
async function snapshot() {
  return { releases: await stub().listReleases(), audit: await auditLog(), channels: await stub().channelStates() }
}

async function validBody(version = '2026.11.1') {
  return JSON.stringify(releasePayload({ action: 'published', tag: `v${version}`, assets: await archives(version) }))
}

describe('refusals before any state changes', () => {
  it('answers 401 to a missing signature, a wrong one and one made with another secret, and records nothing', async () => {
    const body = await validBody()
    const before = await snapshot()
    const id = deliveryId()
    for (const signature of [null, 'sha256=' + '0'.repeat(64), 'sha1=abc', await signBody('other-secret', body)]) {
      const res = await postWebhook(body, { signature, deliveryId: id })
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ error: { code: 'bad_signature' } })
    }
    // A body altered after signing does not verify either.
    const sig = await signBody(SECRET, body)
    expect((await postWebhook(body.replace('2026.11.1', '2026.11.9'), { signature: sig })).status).toBe(401)
    expect(await snapshot()).toEqual(before)
    // The delivery id was not marked as seen: the genuine delivery still goes through.
    expect((await postWebhook(body, { deliveryId: id })).status).toBe(200)
  })

  it('answers 413 to a body over 5 MiB, whether or not Content-Length says so', async () => {
    const before = await snapshot()
    const big = JSON.stringify({ padding: 'x'.repeat(WEBHOOK_MAX_BYTES) })
    const declared = await postWebhook(big)
    expect(declared.status).toBe(413)
    expect(await declared.json()).toMatchObject({ error: { code: 'payload_too_large' } })

    // Streamed without a length: counted while reading.
    const chunk = new Uint8Array(1024 * 1024).fill(0x20)
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const res = await exports.default.fetch(`${BROKER}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'release', 'x-github-delivery': deliveryId(), 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) },
      body: stream,
    })
    expect(res.status).toBe(413)
    expect(await snapshot()).toEqual(before)
  })

  it('answers 400 without X-GitHub-Delivery', async () => {
    const body = await validBody()
    const res = await exports.default.fetch(`${BROKER}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'release', 'x-hub-signature-256': await signBody(SECRET, body) },
      body,
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { code: 'bad_request', message: expect.stringContaining('X-GitHub-Delivery') } })
    expect((await stub().listReleases()).length).toBe(0)
  })

  it('answers 400 to malformed JSON and to a release payload of the wrong shape', async () => {
    const before = await snapshot()
    const res = await postWebhook('{"action": "published", "release": ')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: { code: 'malformed_json' } })

    const payload = releasePayload({ action: 'published', tag: 'v2026.11.1' }) as { release: Record<string, unknown> }
    payload.release.assets = 'not a list'
    const wrong = await postWebhook(JSON.stringify(payload))
    expect(wrong.status).toBe(400)
    expect(await wrong.json()).toMatchObject({ error: { code: 'invalid_payload', message: expect.stringContaining('assets') } })
    expect(await snapshot()).toEqual(before)
  })

  it('refuses deliveries from another repository with 403, comparing names case-insensitively', async () => {
    const before = await snapshot()
    const other = await sendRelease({ action: 'published', tag: 'v2026.11.1', assets: await archives('2026.11.1'), repository: 'someone/else' })
    expect(other.status).toBe(403)
    expect(other.body).toMatchObject({ error: { code: 'repository_not_allowed' } })
    const ping = await postWebhook(JSON.stringify({ zen: 'Keep it simple.', repository: { full_name: 'someone/else' } }), { event: 'ping' })
    expect(ping.status).toBe(403)
    expect(await snapshot()).toEqual(before)

    const sameRepo = await sendRelease({ action: 'published', tag: 'v2026.11.1', assets: await archives('2026.11.1'), repository: 'CCO-Dev/CCO' })
    expect(sameRepo.status).toBe(200)
  })

  it('answers ping with 200 and ignores other events, unknown actions and drafts with 202', async () => {
    const before = await snapshot()
    const ping = await postWebhook(JSON.stringify({ zen: 'Design for failure.', hook_id: 1, repository: { full_name: 'cco-dev/cco' } }), { event: 'ping' })
    expect(ping.status).toBe(200)
    expect(await ping.json()).toEqual({ status: 'pong' })

    const push = await postWebhook(JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'cco-dev/cco' } }), { event: 'push' })
    expect(push.status).toBe(202)
    expect(await push.json()).toMatchObject({ status: 'ignored' })

    const odd = releasePayload({ action: 'published', tag: 'v2026.11.1', assets: await archives('2026.11.1') })
    odd.action = 'archived'
    const unknown = await postWebhook(JSON.stringify(odd))
    expect(unknown.status).toBe(202)
    expect(await unknown.json()).toMatchObject({ status: 'ignored' })

    const draft = await sendRelease({ action: 'created', tag: 'v2026.11.1', draft: true, assets: await archives('2026.11.1') })
    expect(draft.status).toBe(202)
    expect(draft.body).toMatchObject({ status: 'ignored', reason: 'draft release' })
    expect(await snapshot()).toEqual(before)
  })

  it('answers 500 misconfigured, naming the secret but not its value, when the webhook secret or signing key is missing or bad', async () => {
    const body = await validBody()
    const noSecret = await callWorker(
      new Request(`${BROKER}/webhooks/github`, { method: 'POST', headers: { 'x-github-event': 'release', 'x-github-delivery': deliveryId() }, body }),
      { GITHUB_WEBHOOK_SECRET: '' },
    )
    expect(noSecret.status).toBe(500)
    expect(await noSecret.json()).toEqual({ error: { code: 'misconfigured', message: expect.stringContaining('GITHUB_WEBHOOK_SECRET') } })

    const badKey = '{"kty":"OKP","crv":"Ed25519","x":"short","d":"TOP-SECRET-VALUE","kid":"k"}'
    const signed = async (overrides: Partial<Env>) => {
      const req = new Request(`${BROKER}/webhooks/github`, {
        method: 'POST',
        headers: { 'x-github-event': 'release', 'x-github-delivery': deliveryId(), 'x-hub-signature-256': await signBody(SECRET, body) },
        body,
      })
      return callWorker(req, overrides)
    }
    const res = await signed({ MANIFEST_SIGNING_KEY: badKey })
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'misconfigured', message: expect.stringContaining('MANIFEST_SIGNING_KEY') } })
    expect(text).not.toContain('TOP-SECRET-VALUE')
    expect((await stub().listReleases()).length).toBe(0)

    const badVar = await signed({ MANIFEST_TTL_DAYS: 'seven' })
    expect(await badVar.json()).toEqual({ error: { code: 'misconfigured', message: 'var MANIFEST_TTL_DAYS must be a number from 0.042 to 365 (got "seven")' } })
  })
})

describe('idempotency', () => {
  it('treats a replayed delivery id as a duplicate with no second effect', async () => {
    const id = deliveryId()
    const body = await validBody()
    const first = await postWebhook(body, { deliveryId: id })
    expect(first.status).toBe(200)
    const after = await snapshot()
    const again = await postWebhook(body, { deliveryId: id })
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ status: 'duplicate', channels: {} })
    expect(await snapshot()).toEqual(after)
  })

  it('answers a signed body replayed under a new delivery id as a duplicate, so an old body cannot roll a release back', async () => {
    const V = '2026.11.1'
    const assets = await archives(V)
    const first = JSON.stringify(releasePayload({ action: 'published', tag: `v${V}`, assets, body: 'First notes.' }))
    const firstId = deliveryId()
    expect(await (await postWebhook(first, { deliveryId: firstId })).json()).toMatchObject({ status: 'published' })
    const edited = JSON.stringify(releasePayload({ action: 'edited', tag: `v${V}`, assets, body: 'Corrected notes.' }))
    expect(await (await postWebhook(edited)).json()).toMatchObject({ status: 'published', channels: { beta: 2 } })
    const after = await snapshot()

    // The signature covers only the body: the old one verifies under any delivery id.
    const replay = await postWebhook(first, { deliveryId: deliveryId() })
    expect(replay.status).toBe(200)
    expect(await replay.json()).toEqual({ status: 'duplicate', reason: `this body was already processed (delivery ${firstId})`, channels: {} })
    expect(await snapshot()).toEqual(after)
    expect((await stub().getRelease(V))?.notes).toBe('Corrected notes.')
  })
})

describe('real payload shapes', () => {
  it('handles each action of the @octokit/webhooks-examples fixtures', async () => {
    const V = '2026.11.1'
    const assets = await archives(V)
    const outcome = async (action: Parameters<typeof releasePayload>[0]['action'], extra = {}) => (await sendRelease({ action, tag: `v${V}`, assets, ...extra })).body.status
    expect(await outcome('created')).toBe('published')
    expect(await outcome('published')).toBe('published')
    expect(await outcome('prereleased', { prerelease: true })).toBe('published')
    expect(await outcome('released')).toBe('published')
    expect(await outcome('edited', { body: 'Fixed a typo.' })).toBe('published')
    expect((await stub().getRelease(V))?.notes).toBe('Fixed a typo.')
    expect(await outcome('unpublished')).toBe('withdrawn')
    // Published again: GitHub sets a new published_at (an identical body would be a duplicate).
    expect(await outcome('published', { publishedAt: '2026-11-26T09:00:00Z' })).toBe('published')
    expect(await outcome('deleted')).toBe('withdrawn')
    expect(await outcome('edited')).toBe('ignored')
    const release = await stub().getRelease(V)
    expect(release).toMatchObject({ status: 'withdrawn', reason: 'deleted on GitHub', channels: [] })
  })
})
