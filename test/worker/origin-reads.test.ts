// A flood of public requests that reach the Durable Object (no-cache manifest reads, release
// and asset lookups) costs it one read per key per isolate at a time, and per second at most:
// concurrent requests share the read in flight (`x-cco-source: do-coalesced`), later ones within
// ORIGIN_MEMO_MS get it (`memo`). A change made through this isolate is seen by the very next
// request. The object's reads are counted on the object itself (the Worker, the Durable Object and
// this test share one isolate), not by the code under test.
import { reset, runInDurableObject } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import type { Broker } from '../../worker/broker/broker.ts'
import { ORIGIN_MEMO_MS, forgetOriginReads, readThrough } from '../../worker/origin-reads.ts'
import { forgetCachedCopies } from '../../worker/edge-cache.ts'
import { BROKER, adminPost, archives, getManifest, publish, sendRelease, stub } from './helpers.ts'

afterEach(async () => {
  await restore?.()
  restore = null
  forgetOriginReads()
  await reset()
})

type Counted = 'manifest' | 'listReleases' | 'getRelease' | 'recordedAsset' | 'channelStates'
const COUNTED: Counted[] = ['manifest', 'listReleases', 'getRelease', 'recordedAsset', 'channelStates']
let restore: (() => Promise<void>) | null = null

/**
 * Counts calls of the object's read methods from here on. Workers RPC calls only methods of
 * the prototype chain, so the live instance gets a prototype of its own with counting wrappers
 * (its private fields stay its own); afterEach puts the original back.
 */
async function countObjectReads(): Promise<Record<Counted, number>> {
  const counts = Object.fromEntries(COUNTED.map((m) => [m, 0])) as Record<Counted, number>
  await runInDurableObject(stub(), (instance: Broker) => {
    const original = Object.getPrototypeOf(instance) as Record<Counted, (...args: unknown[]) => unknown>
    const counting = Object.create(original) as Record<Counted, (...args: unknown[]) => unknown>
    for (const method of COUNTED) {
      counting[method] = function (this: unknown, ...args: unknown[]) {
        counts[method]++
        return original[method]!.apply(this, args)
      }
    }
    Object.setPrototypeOf(instance, counting)
    restore = () => runInDurableObject(stub(), (again: Broker) => void Object.setPrototypeOf(again, original))
  })
  return counts
}

const NO_CACHE = { 'cache-control': 'no-cache' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function flood(n: number, url: string, headers: Record<string, string> = {}) {
  const answers = await Promise.all(Array.from({ length: n }, () => exports.default.fetch(`${BROKER}${url}`, { headers, redirect: 'manual' })))
  return Promise.all(
    answers.map(async (res) => ({ status: res.status, source: res.headers.get('x-cco-source'), body: await res.text(), location: res.headers.get('location') })),
  )
}

describe('Cache-Control: no-cache floods', () => {
  it('50 concurrent no-cache requests for a channel cost the Durable Object one read, all answered with its copy', async () => {
    await publish('2026.11.1')
    const current = await getManifest('beta', NO_CACHE)
    forgetOriginReads()
    const reads = await countObjectReads()

    const answers = await flood(50, '/v1/channels/beta/manifest', NO_CACHE)
    expect(reads.manifest).toBe(1)
    expect(answers.every((a) => a.status === 200 && a.body === current.body)).toBe(true)
    const sources = answers.map((a) => a.source)
    expect(sources.filter((s) => s === 'do')).toHaveLength(1)
    expect(sources.every((s) => s === 'do' || s === 'do-coalesced' || s === 'memo')).toBe(true)

    // Another 50, one after the other, within the second: no further read.
    for (let i = 0; i < 50; i++) expect((await getManifest('beta', NO_CACHE)).res.headers.get('x-cco-source')).toBe('memo')
    expect(reads.manifest).toBe(1)

    // Each channel is its own key.
    await flood(20, '/v1/channels/stable/manifest', NO_CACHE)
    expect(reads.manifest).toBe(2)
  })

  it('reads the object again once the window has passed', async () => {
    await publish('2026.11.1')
    await getManifest('beta', NO_CACHE)
    const reads = await countObjectReads()
    expect((await getManifest('beta', NO_CACHE)).res.headers.get('x-cco-source')).toBe('memo')
    await sleep(ORIGIN_MEMO_MS + 50)
    expect((await getManifest('beta', NO_CACHE)).res.headers.get('x-cco-source')).toBe('do')
    expect(reads.manifest).toBe(1)
  })

  it('sees a change made through this isolate at once: a webhook, an admin call', async () => {
    await publish('2026.11.1')
    const first = await getManifest('beta', NO_CACHE)
    expect((await getManifest('beta', NO_CACHE)).res.headers.get('x-cco-source')).toBe('memo')

    await publish('2026.11.2')
    const afterWebhook = await getManifest('beta', NO_CACHE)
    expect(afterWebhook.res.headers.get('x-cco-source')).toBe('do')
    expect(afterWebhook.payload).toMatchObject({ release: { version: '2026.11.2' } })
    expect(afterWebhook.payload.seq).toBeGreaterThan(first.payload.seq)

    expect((await adminPost('/v1/channels/beta/rollout', { percent: 30 })).status).toBe(200)
    const afterAdmin = await getManifest('beta', NO_CACHE)
    expect(afterAdmin.res.headers.get('x-cco-source')).toBe('do')
    expect(afterAdmin.payload).toMatchObject({ seq: afterWebhook.payload.seq + 1, rollout: { percent: 30 } })
  })

  it('never lets a read that started before a change answer a request made after it', async () => {
    await publish('2026.11.1')
    await getManifest('beta', NO_CACHE)
    forgetOriginReads()
    // A flood whose shared read is in flight while a webhook changes the channel.
    const during = flood(20, '/v1/channels/beta/manifest', NO_CACHE)
    const change = sendRelease({ action: 'published', tag: 'v2026.11.2', assets: await archives('2026.11.2') })
    await Promise.all([during, change])
    const after = await getManifest('beta', NO_CACHE)
    expect(after.payload.release?.version).toBe('2026.11.2')
  })

  it('shares KV-miss reads too, and still repairs KV once', async () => {
    await publish('2026.11.1')
    const current = await getManifest('beta', NO_CACHE)
    await caches.default.delete(new Request(`${BROKER}/v1/channels/beta/manifest`))
    const { env } = await import('cloudflare:test')
    await env.MANIFESTS.delete('manifest:beta')
    forgetOriginReads()
    forgetCachedCopies()
    const reads = await countObjectReads()
    const answers = await flood(30, '/v1/channels/beta/manifest')
    expect(reads.manifest).toBe(1)
    expect(answers.every((a) => a.body === current.body)).toBe(true)
    expect(await env.MANIFESTS.get('manifest:beta')).toBe(current.body)
  })
})

describe('a shared read outlives the request that started it', () => {
  it('hands the read to the starting request\'s waitUntil (workerd cancels waiters of a promise whose request ended), and only that one', async () => {
    forgetOriginReads()
    const kept: Promise<unknown>[] = []
    let release!: (v: string) => void
    const read = () => new Promise<string>((resolve) => (release = resolve))
    const first = readThrough('keep-alive-test', read, (p) => kept.push(p))
    const second = readThrough('keep-alive-test', read, (p) => kept.push(p))
    expect(kept).toHaveLength(1)
    release('answer')
    expect(await first).toEqual({ value: 'answer', source: 'do' })
    expect(await second).toEqual({ value: 'answer', source: 'do-coalesced' })
    await expect(kept[0]).resolves.toBe('answer')
    // A failed read settles the kept promise too (no unhandled rejection), and is not remembered.
    forgetOriginReads()
    const failing = readThrough('keep-alive-test', () => Promise.reject(new Error('object unavailable')), (p) => kept.push(p))
    await expect(failing).rejects.toThrow('object unavailable')
    await expect(kept[1]).resolves.toBeUndefined()
  })
})

describe('other public reads of the Durable Object', () => {
  it('GET /v1/releases, /v1/releases/{version} and /v1/channels: one read per flood', async () => {
    await publish('2026.11.1')
    forgetOriginReads()
    const reads = await countObjectReads()
    const [list, one, states] = await Promise.all([flood(50, '/v1/releases'), flood(50, '/v1/releases/2026.11.1'), flood(50, '/v1/channels')])
    expect(reads).toMatchObject({ listReleases: 1, getRelease: 1, channelStates: 1 })
    expect(new Set(list.map((a) => a.body)).size).toBe(1)
    expect(new Set(one.map((a) => a.body)).size).toBe(1)
    expect(new Set(states.map((a) => a.body)).size).toBe(1)
    expect(JSON.parse(one[0]!.body)).toMatchObject({ version: '2026.11.1', status: 'live' })

    // A change through this isolate shows at once.
    expect((await adminPost('/v1/releases/2026.11.1/yank', { reason: 'broken' })).status).toBe(200)
    const yanked = (await (await exports.default.fetch(`${BROKER}/v1/releases/2026.11.1`)).json()) as Record<string, unknown>
    expect(yanked).toMatchObject({ yanked: { reason: 'broken' } })
  })

  it('asset redirects: one read per asset per flood, none for names no release can have', async () => {
    await publish('2026.11.1')
    const asset = (await stub().getRelease('2026.11.1'))!.assets['linux-x86_64']!
    forgetOriginReads()
    const reads = await countObjectReads()
    const answers = await flood(50, `/v1/assets/2026.11.1/${asset.sha256}/${asset.name}`)
    expect(answers.every((a) => a.status === 302 && a.location === asset.source_url)).toBe(true)
    expect(reads.recordedAsset).toBe(1)

    // Not a version, not a platform archive: 404 without asking the object.
    const junk = await Promise.all([
      flood(10, `/v1/assets/latest/${asset.sha256}/${asset.name}`),
      flood(10, `/v1/assets/2026.11.1/${asset.sha256}/passwords.txt`),
      flood(10, `/v1/assets/2026.11.1/x.tar.gz`),
    ])
    expect(junk.flat().every((a) => a.status === 404)).toBe(true)
    expect(reads.recordedAsset).toBe(1)
  })
})
