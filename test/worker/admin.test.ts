// The admin API through the real Worker: promote, rollout, halt, resume, yank and unyank change
// the channels with exactly one new seq per changed channel, are recorded in the audit log
// under the caller's name, and show up in the signed manifests; every refusal changes nothing.
// This project runs with MIN_BETA_SOAK_HOURS=24.
import { reset, runInDurableObject } from 'cloudflare:test'
import { afterEach, describe, expect, it } from 'vitest'
import { AuditPageSchema, ChannelChangeSchema, ErrorBodySchema, ReleaseChangeSchema } from '../../contract/api.ts'
import { MANIFEST_MAX_BYTES } from '../../contract/manifest.ts'
import { TOKENS, adminCall, adminPost, archive, auditLog, backdateLive, channelState, dropEdgeCache, getManifest, publish, sendRelease, stateSnapshot, stub, type AdminAnswer } from './helpers.ts'

afterEach(async () => {
  await reset()
})

/** Published and soaked for more than the 24 hours this project requires. */
async function onBeta(...versions: string[]) {
  for (const v of versions) {
    await publish(v)
    await backdateLive(v, 25)
  }
}

async function seqs() {
  return { stable: (await channelState('stable')).seq, beta: (await channelState('beta')).seq }
}

describe('channel changes', () => {
  it('promotes a version on beta into stable with a rollout, re-signing stable only', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    const before = await seqs()

    const r = await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', percent: 25 })
    expect(r.status).toBe(200)
    expect(ChannelChangeSchema.parse(r.body)).toMatchObject({
      channel: 'stable',
      version: '2026.11.1',
      seq: before.stable + 1,
      rollout: { percent: 25, halted: false },
      changed: true,
    })
    expect(await seqs()).toEqual({ stable: before.stable + 1, beta: before.beta })

    const m = await getManifest('stable')
    expect(m.res.headers.get('x-cco-source')).not.toBe('cache')
    expect(m.payload).toMatchObject({ seq: before.stable + 1, release: { version: '2026.11.1' }, rollout: { percent: 25, halted: false } })

    const audit = await auditLog()
    const promoted = audit.find((e) => e.action === 'channel.promoted')
    expect(promoted).toMatchObject({ actor: 'token:release-bot', target: 'stable', detail: { version: '2026.11.1', from: null, percent: 25 } })
    expect(promoted!.detail.force).toBeUndefined()
    expect(audit.at(-1)).toMatchObject({ actor: 'token:release-bot', action: 'manifest.signed', target: 'stable', detail: { seq: before.stable + 1, version: '2026.11.1' } })
  })

  it('rolls out, halts and resumes with one new seq per change, and answers a repeated call unchanged', async () => {
    await onBeta('2026.11.1')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', percent: 10 })
    let seq = (await channelState('stable')).seq

    const steps: [string, unknown, { percent: number; halted: boolean }, string | null][] = [
      ['rollout', { percent: 50 }, { percent: 50, halted: false }, null],
      ['halt', { reason: 'crash reports from 2026.11.1' }, { percent: 50, halted: true }, 'crash reports from 2026.11.1'],
      ['resume', undefined, { percent: 50, halted: false }, null],
      ['rollout', { percent: 100 }, { percent: 100, halted: false }, null],
    ]
    for (const [action, body, rollout, reason] of steps) {
      const r = await adminPost(`/v1/channels/stable/${action}`, body, TOKENS.alice)
      expect(r.status, action).toBe(200)
      seq += 1
      expect(r.body, action).toMatchObject({ seq, rollout: { ...rollout, reason }, changed: true })
      const m = await getManifest('stable')
      expect(m.payload.seq).toBe(seq)
      expect(m.payload.rollout).toEqual(rollout)

      // The same call again changes nothing: same seq, same bytes, no audit entry.
      const auditBefore = (await auditLog()).length
      const again = await adminPost(`/v1/channels/stable/${action}`, body, TOKENS.alice)
      expect(again.status).toBe(200)
      expect(again.body).toMatchObject({ seq, changed: false })
      expect((await getManifest('stable')).body).toBe(m.body)
      expect((await auditLog()).length).toBe(auditBefore)
    }

    const actions = (await auditLog()).filter((e) => e.actor === 'token:alice' && e.action.startsWith('channel.'))
    expect(actions.map((e) => [e.action, e.detail])).toEqual([
      ['channel.rollout', { version: '2026.11.1', from_percent: 10, percent: 50 }],
      ['channel.halted', { version: '2026.11.1', reason: 'crash reports from 2026.11.1', percent: 50 }],
      ['channel.resumed', { version: '2026.11.1', halt_reason: 'crash reports from 2026.11.1', percent: 50 }],
      ['channel.rollout', { version: '2026.11.1', from_percent: 50, percent: 100 }],
    ])
    const signed = (await auditLog()).filter((e) => e.action === 'manifest.signed' && e.target === 'stable').map((e) => e.detail.seq)
    expect(signed).toEqual(signed.map((_, i) => signed[0] + i))
  })

  it('promotes a lower version than stable and records it as a downgrade; promotion clears a halt', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.2' })
    await adminPost('/v1/channels/stable/halt', { reason: 'bad' })
    const r = await adminPost('/v1/channels/stable/promote', { version: 'v2026.11.1' })
    expect(r.body).toMatchObject({ version: '2026.11.1', rollout: { percent: 100, halted: false }, changed: true })
    expect((await getManifest('stable')).payload).toMatchObject({ release: { version: '2026.11.1' }, rollout: { percent: 100, halted: false } })
    const promoted = (await auditLog()).filter((e) => e.action === 'channel.promoted')
    expect(promoted.map((e) => e.detail)).toEqual([
      { version: '2026.11.2', from: null, percent: 100 },
      { version: '2026.11.1', from: '2026.11.2', percent: 100, downgrade: true },
    ])
  })

  it('refuses a promotion before the soak time, and records a forced one', async () => {
    await publish('2026.11.1')
    await backdateLive('2026.11.1', 3)
    const before = await stateSnapshot()
    const r = await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' })
    expect(r.status).toBe(409)
    expect(r.body.error).toEqual({ code: 'conflict', message: expect.stringMatching(/has been on beta for 3\.0 h, less than MIN_BETA_SOAK_HOURS \(24 h\); pass "force": true/) })
    expect(await stateSnapshot()).toEqual(before)

    const forced = await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', force: true })
    expect(forced.status).toBe(200)
    expect(forced.body).toMatchObject({ version: '2026.11.1', changed: true })
    expect((await auditLog()).find((e) => e.action === 'channel.promoted')?.detail).toEqual({
      version: '2026.11.1',
      from: null,
      percent: 100,
      force: true,
      soak_skipped: true,
      soaked_hours: 3,
      min_soak_hours: 24,
    })
  })

  it('rolls out on beta too, and a newer release on beta starts with a full rollout', async () => {
    await publish('2026.11.1')
    const r = await adminPost('/v1/channels/beta/rollout', { percent: 20 })
    expect(r.body).toMatchObject({ channel: 'beta', version: '2026.11.1', rollout: { percent: 20, halted: false }, changed: true })
    expect((await getManifest('beta')).payload.rollout).toEqual({ percent: 20, halted: false })
    await publish('2026.11.2')
    expect((await getManifest('beta')).payload).toMatchObject({ release: { version: '2026.11.2' }, rollout: { percent: 100, halted: false } })
  })
})

describe('yank and unyank', () => {
  it('yanking the stable version moves both channels to the newest good version and lists it in every manifest', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' })
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.2' })
    const before = await seqs()

    const r = await adminPost('/v1/releases/2026.11.2/yank', { reason: 'corrupts the config file' })
    expect(r.status).toBe(200)
    const body = ReleaseChangeSchema.parse(r.body)
    expect(body.channels).toEqual({ stable: before.stable + 1, beta: before.beta + 1 })
    expect(body.release).toMatchObject({ version: '2026.11.2', status: 'live', channels: [], yanked: { reason: 'corrupts the config file' } })

    for (const channel of ['stable', 'beta'] as const) {
      const m = await getManifest(channel)
      expect(m.payload.seq).toBe(before[channel] + 1)
      expect(m.payload.release?.version).toBe('2026.11.1')
      expect(m.payload.yanked).toEqual([{ version: '2026.11.2', reason: 'corrupts the config file' }])
    }
    expect((await auditLog()).find((e) => e.action === 'release.yanked')).toMatchObject({
      actor: 'token:release-bot',
      target: '2026.11.2',
      detail: { reason: 'corrupts the config file', status: 'live', channels: ['stable', 'beta'] },
    })
  })

  it('leaves stable without a release when no other version was ever on stable', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.2' })
    await adminPost('/v1/releases/2026.11.2/yank', { reason: 'bad' })
    expect((await getManifest('stable')).payload).toMatchObject({ release: null, yanked: [{ version: '2026.11.2', reason: 'bad' }] })
    expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.1')
  })

  it('re-signs every channel when a version on no channel is yanked', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    const before = await seqs()
    const r = await adminPost('/v1/releases/2026.11.1/yank', { reason: 'wrong build flags' })
    expect(r.body.channels).toEqual({ stable: before.stable + 1, beta: before.beta + 1 })
    expect((await getManifest('stable')).payload).toMatchObject({ release: null, yanked: [{ version: '2026.11.1' }] })
    expect((await getManifest('beta')).payload).toMatchObject({ release: { version: '2026.11.2' }, yanked: [{ version: '2026.11.1' }] })
  })

  it('unyank: beta returns to the version, stable stays where it fell back to', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' })
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.2' })
    await adminPost('/v1/releases/2026.11.2/yank', { reason: 'false alarm' })
    const before = await seqs()

    const r = await adminPost('/v1/releases/2026.11.2/unyank', undefined, TOKENS.alice)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ release: { version: '2026.11.2', yanked: null, channels: ['beta'] }, channels: { stable: before.stable + 1, beta: before.beta + 1 } })
    expect((await getManifest('beta')).payload).toMatchObject({ seq: before.beta + 1, release: { version: '2026.11.2' }, yanked: [] })
    expect((await getManifest('stable')).payload).toMatchObject({ seq: before.stable + 1, release: { version: '2026.11.1' }, yanked: [] })
    expect((await auditLog()).find((e) => e.action === 'release.unyanked')).toMatchObject({ actor: 'token:alice', target: '2026.11.2', detail: { was: 'false alarm' } })

    // Stable moves back only by a promotion.
    const promoted = await adminPost('/v1/channels/stable/promote', { version: '2026.11.2' })
    expect(promoted.body).toMatchObject({ version: '2026.11.2', changed: true })
  })

  it('keeps a yanked version off beta when it is published again', async () => {
    await onBeta('2026.11.1')
    await adminPost('/v1/releases/2026.11.1/yank', { reason: 'bad' })
    await sendRelease({ action: 'edited', tag: 'v2026.11.1', body: 'new notes', assets: [await archive('2026.11.1', 'linux-x86_64')] })
    expect((await getManifest('beta')).payload).toMatchObject({ release: null, yanked: [{ version: '2026.11.1' }] })
  })
})

describe('yanks and the 64 KiB manifest cap', () => {
  /**
   * The largest reason the API accepts: 1 KiB of three-byte characters (control characters,
   * which JSON escapes six-fold, are refused), about 4 KiB in each signed manifest.
   */
  const longReason = (i: number) => `#${i} ${'€'.repeat(1016)}`
  /** 1 KiB that JSON escapes six-fold, as brokers before the control-character rule stored it: about 8 KiB in each signed manifest. */
  const legacyReason = (i: number) => `#${i} ${'\u0001'.repeat(1016)}`
  const DAY = 24 * 3600 * 1000

  it('refuses a yank whose manifests would not fit, before anything is written; a shorter reason still fits', async () => {
    const versions = Array.from({ length: 24 }, (_, i) => `2026.10.${i + 1}`)
    for (const v of versions) await publish(v, { body: 'Notes that may be cut.' })
    let refused: AdminAnswer | null = null
    let yanked = 0
    for (const v of versions) {
      const before = await stateSnapshot()
      const r = await adminPost(`/v1/releases/${v}/yank`, { reason: longReason(yanked) })
      if (r.status === 200) {
        yanked++
        continue
      }
      refused = r
      expect(await stateSnapshot()).toEqual(before)
      expect((await stub().getRelease(v))?.yanked).toBeNull()
      break
    }
    expect(yanked).toBeGreaterThan(4)
    expect(refused).toMatchObject({
      status: 409,
      body: {
        error: {
          code: 'conflict',
          message: expect.stringMatching(
            /^yanking 2026\.10\.\d+ would make the (stable|beta) manifest \d+ bytes, over the 65536-byte cap even with its release notes cut: unyank old versions or shorten reasons$/,
          ),
        },
      },
    })

    const next = versions[yanked]!
    expect((await adminPost(`/v1/releases/${next}/yank`, { reason: 'short' })).status).toBe(200)
    for (const channel of ['stable', 'beta'] as const) {
      const m = await getManifest(channel)
      expect(new TextEncoder().encode(m.body).byteLength).toBeLessThanOrEqual(MANIFEST_MAX_BYTES)
      expect(m.payload.yanked).toHaveLength(yanked + 1)
    }
    // Webhooks and the cron's re-sign go on.
    await publish('2026.10.30', { body: 'x'.repeat(4000) })
    expect((await stub().resignDue(Date.now() + 5 * DAY)).channels).toMatchObject({ stable: expect.any(Number), beta: expect.any(Number) })
  })

  it('still re-signs a manifest that is over the cap with its yanks (written before the refusal existed) by cutting the reasons, listing every version', async () => {
    await publish('2026.10.1')
    const before = await getManifest('beta')
    // Yanked by code that did not refuse: twelve 1 KiB reasons, about 100 KiB signed.
    await runInDurableObject(stub(), (_instance, state) => {
      for (let i = 0; i < 12; i++) state.storage.sql.exec('INSERT INTO yanked (version, reason, at) VALUES (?, ?, ?)', `2026.9.${i + 1}`, legacyReason(i), '2026-11-01T00:00:00Z')
    })
    const resigned = await stub().resignDue(Date.now() + 5 * DAY)
    expect(resigned.channels.beta).toBe(before.payload.seq + 1)
    await dropEdgeCache()
    const after = await getManifest('beta')
    expect(after.payload.seq).toBe(before.payload.seq + 1)
    expect(new TextEncoder().encode(after.body).byteLength).toBeLessThanOrEqual(MANIFEST_MAX_BYTES)
    expect(after.payload.yanked.map((y) => y.version).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `2026.9.${i + 1}`).sort())
    expect(after.payload.yanked.every((y) => y.reason.length < 1020)).toBe(true)
    expect(after.payload.release?.version).toBe('2026.10.1')
  })
})

describe('refusals change nothing', () => {
  it('answers each refusal with its status and a message, leaving seq, manifests and audit untouched', async () => {
    await onBeta('2026.11.1', '2026.11.2')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' })
    await adminPost('/v1/releases/2026.11.2/yank', { reason: 'bad' })
    // Refused by the broker (no digest, no checksums file): known, but never on beta.
    await sendRelease({ action: 'published', tag: 'v2026.11.3', assets: [await archive('2026.11.3', 'linux-x86_64', { digest: false })] })
    await publish('2026.11.4') // live, but not soaked
    const before = await stateSnapshot()

    const cases: [string, string, unknown, string | null | undefined, number, string, RegExp][] = [
      ['no token', '/v1/channels/stable/rollout', { percent: 5 }, null, 401, 'unauthorized', /missing bearer token/],
      ['wrong token', '/v1/channels/stable/rollout', { percent: 5 }, 'not-a-real-token', 401, 'unauthorized', /invalid bearer token/],
      ['a token hash instead of the token', '/v1/channels/stable/rollout', { percent: 5 }, 'release-bot', 401, 'unauthorized', /invalid bearer token/],
      ['unknown channel', '/v1/channels/nightly/rollout', { percent: 5 }, undefined, 404, 'not_found', /unknown channel "nightly"/],
      ['promote into beta', '/v1/channels/beta/promote', { version: '2026.11.1' }, undefined, 409, 'conflict', /only stable is promoted into/],
      ['unknown version', '/v1/channels/stable/promote', { version: '2099.1.1' }, undefined, 404, 'not_found', /release "2099.1.1" not found/],
      ['a refused version', '/v1/channels/stable/promote', { version: '2026.11.3' }, undefined, 409, 'conflict', /2026.11.3 is not on beta \(its status is refused\)/],
      ['a yanked version', '/v1/channels/stable/promote', { version: '2026.11.2' }, undefined, 409, 'conflict', /2026.11.2 is yanked/],
      ['soak time not reached', '/v1/channels/stable/promote', { version: '2026.11.4' }, undefined, 409, 'conflict', /less than MIN_BETA_SOAK_HOURS/],
      ['not a version', '/v1/channels/stable/promote', { version: 'latest' }, undefined, 422, 'invalid_request', /^version: not a version/],
      ['percent 101', '/v1/channels/stable/rollout', { percent: 101 }, undefined, 422, 'invalid_request', /^percent: percent must be 0–100/],
      ['percent -1', '/v1/channels/stable/rollout', { percent: -1 }, undefined, 422, 'invalid_request', /^percent: percent must be 0–100/],
      ['percent 1.5', '/v1/channels/stable/rollout', { percent: 1.5 }, undefined, 422, 'invalid_request', /^percent: must be an integer/],
      ['percent as text', '/v1/channels/stable/promote', { version: '2026.11.1', percent: '50' }, undefined, 422, 'invalid_request', /^percent: must be a number/],
      ['halt without a reason', '/v1/channels/stable/halt', {}, undefined, 422, 'invalid_request', /^reason: required/],
      ['halt with an empty reason', '/v1/channels/stable/halt', { reason: '' }, undefined, 422, 'invalid_request', /^reason: a reason is required/],
      ['a body that is not an object', '/v1/channels/stable/rollout', '[50]', undefined, 422, 'invalid_request', /^body: must be a JSON object/],
      ['malformed JSON', '/v1/channels/stable/rollout', '{"percent": 5', undefined, 400, 'malformed_json', /not valid JSON/],
      ['yank twice', '/v1/releases/2026.11.2/yank', { reason: 'again' }, undefined, 409, 'conflict', /2026.11.2 is already yanked \(bad\)/],
      ['yank an unknown version', '/v1/releases/2099.1.1/yank', { reason: 'x' }, undefined, 404, 'not_found', /release "2099.1.1" not found/],
      ['yank something that is not a version', '/v1/releases/latest/yank', { reason: 'x' }, undefined, 404, 'not_found', /release "latest" not found/],
      ['yank without a reason', '/v1/releases/2026.11.1/yank', {}, undefined, 422, 'invalid_request', /^reason: required/],
      ['unyank a version that is not yanked', '/v1/releases/2026.11.1/unyank', undefined, undefined, 409, 'conflict', /2026.11.1 is not yanked/],
      ['unyank an unknown version', '/v1/releases/2099.1.1/unyank', undefined, undefined, 404, 'not_found', /not found/],
    ]
    for (const [what, path, body, token, status, code, message] of cases) {
      const r = await adminPost(path, body, token)
      expect(r.status, what).toBe(status)
      const error = ErrorBodySchema.parse(r.body).error
      expect(error.code, what).toBe(code)
      expect(error.message, what).toMatch(message)
      expect(await stateSnapshot(), what).toEqual(before)
    }
  })

  it('refuses rollout, halt and resume on a channel without a release', async () => {
    const before = await stateSnapshot()
    for (const [action, body] of [['rollout', { percent: 5 }], ['halt', { reason: 'x' }], ['resume', {}]] as const) {
      const r = await adminPost(`/v1/channels/stable/${action}`, body)
      expect(r.status, action).toBe(409)
      expect(r.body.error.message).toBe(`channel stable has no release to ${action === 'rollout' ? 'roll out' : action}`)
    }
    expect(await stateSnapshot()).toEqual(before)
  })
})

describe('the audit log', () => {
  it('pages newest first for an authenticated caller, and refuses anyone else', async () => {
    await onBeta('2026.11.1')
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' })
    const all = await auditLog()

    const first = await adminCall('GET', '/v1/audit?limit=2')
    expect(first.status).toBe(200)
    const page = AuditPageSchema.parse(first.body)
    expect(page.entries.map((e) => e.id)).toEqual([all.at(-1)!.id, all.at(-2)!.id])
    expect(page.next_before).toBe(all.at(-2)!.id)
    const second = AuditPageSchema.parse((await adminCall('GET', `/v1/audit?before=${page.next_before}&limit=1000`)).body)
    expect([...page.entries, ...second.entries].map((e) => e.id)).toEqual(all.map((e) => e.id).reverse())
    expect(second.next_before).toBeNull()

    expect((await adminCall('GET', '/v1/audit', { token: null })).status).toBe(401)
    const bad = await adminCall('GET', '/v1/audit?limit=0')
    expect(bad.status).toBe(422)
    expect(bad.body.error.message).toMatch(/^limit: /)
  })
})
