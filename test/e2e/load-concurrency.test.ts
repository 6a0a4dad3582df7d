// Many concurrent manifest readers against the real broker (wrangler dev) while webhooks and
// admin changes arrive: no error responses, every response a manifest that verifies against
// the pinned key for the channel asked, and the seq a reader accepts never goes back.
//
// Readers behave like cco: a manifest older than one already accepted (a stale edge-cache or
// KV copy) is not accepted; the reader asks again past the caches (`Cache-Control: no-cache`),
// and what that answer carries must not be older either.
import { createHash } from 'node:crypto'
import { generalVerify, importJWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { releasePayload } from '../../support/github.ts'

const READERS = 12
const CHANGES = 24

let broker: DevBroker
beforeAll(async () => {
  broker = await startBroker()
}, 60_000)
afterAll(async () => {
  await broker?.stop()
})

function release(version: string) {
  const name = canonicalAssetName(version, 'linux-x86_64')
  return releasePayload({
    action: 'published',
    tag: `v${version}`,
    body: `load test ${version}`,
    assets: [{ name, url: `https://github.com/cco-dev/cco/releases/download/v${version}/${name}`, size: 1000, digest: `sha256:${createHash('sha256').update(version).digest('hex')}` }],
  })
}

async function admin(path: string, body: unknown): Promise<Response> {
  return fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${broker.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

interface Observation {
  status: number
  seq: number
  channel: string
  retried: boolean
}

describe('concurrent reads while the broker changes', () => {
  it('serves only verifying manifests and never moves a reader back', async () => {
    const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: broker.secrets.publicKey.x }, 'EdDSA')

    async function read(channel: string, noCache: boolean): Promise<{ status: number; seq: number; channel: string }> {
      const res = await fetch(`${broker.url}/v1/channels/${channel}/manifest`, noCache ? { headers: { 'cache-control': 'no-cache' } } : {})
      const text = new TextDecoder().decode(await res.arrayBuffer())
      if (res.status !== 200) return { status: res.status, seq: -1, channel: '' }
      const { payload, protectedHeader } = await generalVerify(JSON.parse(text), key)
      expect(protectedHeader?.typ).toBe('cco-manifest+json')
      const p = JSON.parse(new TextDecoder().decode(payload)) as { seq: number; channel: string }
      return { status: res.status, seq: p.seq, channel: p.channel }
    }

    let writing = true
    const readers = Array.from({ length: READERS }, async (_, i) => {
      const channel = i % 2 === 0 ? 'stable' : 'beta'
      const seen: Observation[] = []
      let accepted = 0
      const once = async () => {
        let o = await read(channel, false)
        let retried = false
        if (o.status === 200 && o.seq < accepted) {
          retried = true
          o = await read(channel, true)
        }
        seen.push({ ...o, retried })
        if (o.status === 200 && o.seq >= accepted) accepted = o.seq
        return o.status === 200
      }
      // Read until the writers are done, then once more: that read must see the final state.
      while (writing) if (!(await once())) break
      await once()
      return { channel, seen }
    })

    // Writers: new releases on beta, promotions, rollout changes, halts and resumes on stable.
    const changes: Promise<Response>[] = []
    for (let i = 1; i <= CHANGES; i++) {
      const version = `2026.12.${i}`
      const r = await broker.sendWebhook('release', release(version))
      expect(r.status, await r.clone().text()).toBe(200)
      if (i % 3 === 0) changes.push(admin('/v1/channels/stable/promote', { version, percent: 50 }))
      if (i % 4 === 0) changes.push(admin('/v1/channels/stable/rollout', { percent: 10 + i }))
      if (i % 5 === 0) changes.push(admin('/v1/channels/stable/halt', { reason: `load test ${i}` }))
      if (i % 5 === 1 && i > 1) changes.push(admin('/v1/channels/stable/resume', {}))
    }
    const answers = await Promise.all(changes)
    for (const a of answers) expect([200, 409], `${a.status} ${await a.clone().text()}`).toContain(a.status)
    writing = false
    const results = await Promise.all(readers)

    let reads = 0
    let retries = 0
    for (const { channel, seen } of results) {
      reads += seen.length
      let accepted = 0
      for (const o of seen) {
        expect(o.status, `a ${channel} reader got HTTP ${o.status}`).toBe(200)
        expect(o.channel).toBe(channel)
        expect(o.seq, `a ${channel} reader was moved back from seq ${accepted}`).toBeGreaterThanOrEqual(accepted)
        accepted = o.seq
        if (o.retried) retries++
      }
    }
    // The last reads saw the broker's final state.
    const final = (await (await fetch(`${broker.url}/v1/channels`)).json()) as { channels: { channel: string; seq: number }[] }
    for (const { channel, seen } of results) {
      expect(seen.at(-1)!.seq).toBe(final.channels.find((c) => c.channel === channel)!.seq)
    }
    expect(reads).toBeGreaterThan(READERS * 5)
    console.log(`load: ${reads} verified reads by ${READERS} readers during ${CHANGES} webhooks and ${changes.length} admin changes; ${retries} stale copies re-read past the caches`)
  }, 120_000)
})
