// GET /v1/channels/{channel}/download/{platform}: a redirect to the archive the channel's signed
// manifest names, read through the manifest's own tiers (edge cache, KV, Durable Object), and
// the 404s that name what exists.
import { reset } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it } from 'vitest'
import { Served } from '../../contract/api.ts'
import { adminPost, backdateLive, BROKER, dropEdgeCache, getManifest, publish, TOKENS } from './helpers.ts'

afterEach(async () => {
  await reset()
})

const download = (channel: string, platform: string) => exports.default.fetch(`${BROKER}/v1/channels/${channel}/download/${platform}`, { redirect: 'manual' })

async function errorOf(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return Served.ErrorBody.parse(await res.json()).error
}

describe('the download redirect', () => {
  it('redirects to the URL the signed manifest carries for the platform, with a short cache life', async () => {
    await publish('2026.11.1')
    const { payload } = await getManifest('beta')
    for (const platform of ['linux-x86_64', 'darwin-arm64'] as const) {
      const res = await download('beta', platform)
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe(payload.release!.assets[platform]!.url)
      expect(res.headers.get('location')).toMatch(new RegExp(`^${BROKER}/v1/assets/2026\\.11\\.1/[0-9a-f]{64}/cco-2026\\.11\\.1-${platform}\\.tar\\.gz$`))
      expect(res.headers.get('cache-control')).toBe('public, max-age=60')
      expect(res.headers.get('x-cco-version')).toBe('2026.11.1')
    }
  })

  it('follows the channel: a newer release is served once the channel moves', async () => {
    await publish('2026.11.1')
    expect((await download('beta', 'linux-x86_64')).headers.get('x-cco-version')).toBe('2026.11.1')
    await publish('2026.11.2')
    const res = await download('beta', 'linux-x86_64')
    expect(res.headers.get('x-cco-version')).toBe('2026.11.2')
    expect(res.headers.get('location')).toBe((await getManifest('beta')).payload.release!.assets['linux-x86_64']!.url)
  })

  it('reads the channel as the manifest is read: the Durable Object once, then the edge cache', async () => {
    await publish('2026.11.1')
    await dropEdgeCache()
    const first = await download('beta', 'linux-x86_64')
    expect(first.status).toBe(302)
    expect(['kv', 'do', 'do-coalesced', 'memo']).toContain(first.headers.get('x-cco-source'))
    const again = await download('beta', 'darwin-arm64')
    expect(again.status).toBe(302)
    expect(again.headers.get('x-cco-source')).toBe('cache')
    // The manifest route finds the copy the download route put in the edge cache.
    const manifest = await exports.default.fetch(`${BROKER}/v1/channels/beta/manifest`)
    await manifest.arrayBuffer()
    expect(manifest.headers.get('x-cco-source')).toBe('cache')
  })

  it("serves the channel's release during a partial or halted rollout: a first install is not an update", async () => {
    await publish('2026.11.1')
    await backdateLive('2026.11.1', 25)
    expect((await adminPost('/v1/channels/stable/promote', { version: '2026.11.1', percent: 10 })).status).toBe(200)
    expect((await adminPost('/v1/channels/stable/halt', { reason: 'crash reports' }, TOKENS.alice)).status).toBe(200)
    const { payload } = await getManifest('stable')
    expect(payload.rollout).toEqual({ percent: 10, halted: true })
    const res = await download('stable', 'linux-x86_64')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(payload.release!.assets['linux-x86_64']!.url)
  })

  it('answers 404 naming the platforms the release has, for a platform without a build or an unknown name', async () => {
    await publish('2026.11.1')
    for (const platform of ['windows-x86_64', 'linux-amd64', 'x'.repeat(300)]) {
      const res = await download('beta', platform)
      expect(res.status).toBe(404)
      const error = await errorOf(res)
      expect(error.code).toBe('not_found')
      expect(error.message).toContain('(platforms: linux-x86_64, darwin-arm64)')
      expect(error.message).toContain('beta 2026.11.1 has no build for')
      // The caller's text comes back quoted and cut short.
      expect(error.message.length).toBeLessThan(200)
    }
  })

  it('answers 404 for a channel without a release, and unknown_channel for a channel that does not exist', async () => {
    const empty = await download('stable', 'linux-x86_64')
    expect(empty.status).toBe(404)
    expect(await errorOf(empty)).toEqual({ code: 'not_found', message: 'channel stable has no release yet' })

    const unknown = await download('nightly', 'linux-x86_64')
    expect(unknown.status).toBe(404)
    expect(await errorOf(unknown)).toEqual({ code: 'unknown_channel', message: 'unknown channel "nightly" (channels: stable, beta)' })
  })
})
