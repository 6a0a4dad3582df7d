// With STABLE_FROM_RELEASES=true (the `worker-stable` test project), a non-prerelease GitHub
// release also moves stable; prereleases stay on beta.
import { reset } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, expect, it } from 'vitest'
import { adminPost, archives, getManifest, publish, sendRelease, stateSnapshot } from './helpers.ts'

afterEach(async () => {
  await reset()
})

it('runs with STABLE_FROM_RELEASES on', () => {
  expect(env.STABLE_FROM_RELEASES).toBe('true')
})

it('puts a release on beta and stable, and a prerelease on beta only', async () => {
  await publish('2026.11.1')
  await publish('2026.11.2-rc.1', { prerelease: true })
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.1')
  expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.2-rc.1')
})

it('moves stable when a prerelease is turned into a release, and back when it is turned into a prerelease again', async () => {
  await publish('2026.11.1')
  await publish('2026.11.2', { prerelease: true })
  const stable = await getManifest('stable')
  expect(stable.payload.release?.version).toBe('2026.11.1')
  const released = await sendRelease({ action: 'released', tag: 'v2026.11.2', prerelease: false, assets: await archives('2026.11.2') })
  expect(released.body.channels).toEqual({ stable: stable.payload.seq + 1 })
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.2')

  await sendRelease({ action: 'edited', tag: 'v2026.11.2', prerelease: true, assets: await archives('2026.11.2') })
  // Flagged as a prerelease again, 2026.11.2 stays on stable: stable never moves down by
  // itself while its version is live (only withdrawal, a yank or a promotion moves it).
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.2')
})

it('falls back on stable to the newest remaining release that was on stable', async () => {
  await publish('2026.11.1')
  await publish('2026.11.2')
  await publish('2026.11.3')
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.3')
  await sendRelease({ action: 'deleted', tag: 'v2026.11.3', assets: await archives('2026.11.3') })
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.2')
  expect((await getManifest('beta')).payload.release?.version).toBe('2026.11.2')
})

it('does not move stable down when an older release arrives late', async () => {
  await publish('2026.11.5')
  await publish('2026.11.4')
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.5')
})

it('refuses a promotion that stable would leave at once for the newest release, and allows a higher one', async () => {
  await publish('2026.11.1')
  await publish('2026.11.2')
  await publish('2026.11.3-rc.1', { prerelease: true })
  const before = await stateSnapshot()
  const down = await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' })
  expect(down.status).toBe(409)
  expect(down.body.error.message).toBe('stable would move to 2026.11.2 at once: with STABLE_FROM_RELEASES on it follows the newest release')
  expect(await stateSnapshot()).toEqual(before)

  const up = await adminPost('/v1/channels/stable/promote', { version: '2026.11.3-rc.1' })
  expect(up.body).toMatchObject({ version: '2026.11.3-rc.1', changed: true })
  expect((await getManifest('stable')).payload.release?.version).toBe('2026.11.3-rc.1')
})
