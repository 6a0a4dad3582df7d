// Fifty deliveries at once: the Durable Object serialises them, records every release and
// gives each signed manifest its own seq, in order.
import { reset } from 'cloudflare:test'
import { afterEach, expect, it } from 'vitest'
import { archives, auditLog, getManifest, sendRelease, stub } from './helpers.ts'

afterEach(async () => {
  await reset()
})

it('records all of 50 concurrent deliveries with strictly increasing seq and no duplicate', async () => {
  // Shuffled, so that beta moves up and down the version order as deliveries land.
  const versions = Array.from({ length: 50 }, (_, i) => `2026.${1 + (i % 12)}.${i}`)
  for (let i = versions.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[versions[i], versions[j]] = [versions[j]!, versions[i]!]
  }
  const payloads = await Promise.all(versions.map(async (v) => ({ v, assets: await archives(v) })))
  const results = await Promise.all(payloads.map(({ v, assets }) => sendRelease({ action: 'published', tag: `v${v}`, assets })))
  expect(results.map((r) => r.status)).toEqual(versions.map(() => 200))
  expect(results.every((r) => r.body.status === 'published')).toBe(true)

  const live = (await stub().listReleases()).filter((r) => r.status === 'live').map((r) => r.version)
  expect(live.sort()).toEqual([...versions].sort())

  const audit = await auditLog()
  expect(audit.filter((e) => e.action === 'release.published')).toHaveLength(50)
  for (const channel of ['beta', 'stable']) {
    const seqs = audit.filter((e) => e.action === 'manifest.signed' && e.target === channel).map((e) => e.detail.seq as number)
    // Strictly increasing by exactly one in log order: no duplicate, no gap, no reordering.
    expect(seqs).toEqual(seqs.map((_, i) => i + 1))
  }
  const seqsReported = results.map((r) => r.body.channels.beta).filter((s) => s !== undefined)
  expect(new Set(seqsReported).size).toBe(seqsReported.length)

  const beta = await getManifest('beta')
  expect(beta.payload.release?.version).toBe('2026.12.47')
  const signed = audit.filter((e) => e.action === 'manifest.signed' && e.target === 'beta')
  expect(beta.payload.seq).toBe(signed.length)
})
