// The cron handler re-signs manifests before they expire (new seq) and after a key rotation,
// and leaves fresh ones alone. (Its reconciliation with GitHub has its own tests; here the
// GitHub API answers 404, which changes nothing.)
import { createScheduledController, reset, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import worker from '../../worker/index.ts'
import { auditLog, fakeNetwork, getManifest, publish, stub } from './helpers.ts'

beforeEach(() => {
  fakeNetwork({})
  vi.spyOn(console, 'error').mockImplementation(() => undefined)
})

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

const DAY = 24 * 3600 * 1000

async function runCron(at: number) {
  await worker.scheduled(createScheduledController({ scheduledTime: at, cron: '*/30 * * * *' }), env)
}

it('leaves manifests alone while they are far from expiry', async () => {
  await publish('2026.11.1')
  const before = await getManifest('beta')
  await runCron(Date.now())
  await runCron(Date.now() + 3 * DAY)
  const after = await getManifest('beta')
  expect(after.payload.seq).toBe(before.payload.seq)
  expect(after.body).toBe(before.body)
})

it('re-signs every channel whose manifest expires within three days, with a new seq and expiry', async () => {
  await publish('2026.11.1')
  const beta = await getManifest('beta')
  const stable = await getManifest('stable')
  // Five days on, the seven-day manifests have two days left.
  await runCron(Date.now() + 5 * DAY)
  const beta2 = await getManifest('beta')
  const stable2 = await getManifest('stable')
  expect(beta2.res.headers.get('x-cco-source')).not.toBe('cache') // this colo's copy was dropped
  expect(beta2.payload.seq).toBe(beta.payload.seq + 1)
  expect(stable2.payload.seq).toBe(stable.payload.seq + 1)
  expect(Date.parse(beta2.payload.expires_at)).toBeGreaterThanOrEqual(Date.parse(beta.payload.expires_at))
  expect(beta2.payload.release).toEqual(beta.payload.release)
  const resigned = (await auditLog()).filter((e) => e.action === 'manifest.signed' && e.actor === 'scheduler')
  expect(resigned.map((e) => [e.target, e.detail.reason, e.detail.seq])).toEqual([
    ['stable', 'expires soon', stable2.payload.seq],
    ['beta', 'expires soon', beta2.payload.seq],
  ])
})

it('re-signs a manifest signed with keys other than the configured ones (rotation)', async () => {
  await publish('2026.11.1')
  const before = await getManifest('beta')
  // As if the manifest had been signed before the key was rotated in.
  await runInDurableObject(stub(), (_instance, state) => {
    state.storage.sql.exec(`UPDATE channels SET kids = '["retired-key"]' WHERE name = 'beta'`)
  })
  await runCron(Date.now())
  const after = await getManifest('beta')
  expect(after.payload.seq).toBe(before.payload.seq + 1)
  expect(after.kids).toEqual(['test-key-a'])
  const last = (await auditLog()).filter((e) => e.action === 'manifest.signed').at(-1)
  expect(last).toMatchObject({ actor: 'scheduler', target: 'beta', detail: { reason: 'signing keys changed', kids: ['test-key-a'] } })
})

it('rewrites KV from the Durable Object on each run', async () => {
  await publish('2026.11.1')
  await env.MANIFESTS.delete('manifest:beta')
  await runCron(Date.now())
  const kv = await env.MANIFESTS.getWithMetadata<{ seq: number }>('manifest:beta')
  expect(kv.metadata?.seq).toBe(1)
})
