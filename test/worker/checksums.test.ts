// Releases whose assets carry no GitHub digest: the checksums file is fetched by the Durable
// Object's alarm, never on the webhook's request path. The network is faked at `fetch`.
import { reset, runDurableObjectAlarm } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CHECKSUMS_MAX_ATTEMPTS } from '../../worker/broker/broker.ts'
import type { FixtureAsset } from '../../support/github.ts'
import { archive, auditLog, digestOf, fakeNetwork, getManifest, makeAlarmJobsDue, sendRelease, stub } from './helpers.ts'

const V = '2026.12.1'
const CHECKSUMS_URL = `https://github.com/cco-dev/cco/releases/download/v${V}/checksums.txt`

async function releaseWithoutDigests(): Promise<{ assets: FixtureAsset[]; checksums: string }> {
  const linux = await archive(V, 'linux-x86_64', { digest: false })
  const mac = await archive(V, 'darwin-arm64', { digest: false })
  const checksums = `${await digestOf(linux.name)}  ${linux.name}\n${(await digestOf(mac.name)).toUpperCase()} *${mac.name}\n`
  const file: FixtureAsset = { name: 'checksums.txt', url: CHECKSUMS_URL, size: checksums.length }
  return { assets: [linux, mac, file], checksums }
}

beforeEach(() => vi.restoreAllMocks())
afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

describe('checksums file', () => {
  it('queues the release without fetching anything on the request path, then publishes it from the alarm', async () => {
    const { assets, checksums } = await releaseWithoutDigests()
    const net = fakeNetwork({ [CHECKSUMS_URL]: () => new Response(checksums) })

    const started = Date.now()
    const r = await sendRelease({ action: 'published', tag: `v${V}`, assets })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(r.status).toBe(202)
    expect(r.body).toMatchObject({ status: 'queued', version: V })
    expect(net.asked).toEqual([])
    expect((await stub().getRelease(V))?.status).toBe('pending')
    expect((await getManifest('beta')).payload.release).toBeNull()

    expect(await runDurableObjectAlarm(stub())).toBe(true)
    expect(net.asked).toEqual([CHECKSUMS_URL])
    const release = await stub().getRelease(V)
    expect(release?.status).toBe('live')
    expect(release?.assets['darwin-arm64']?.sha256).toBe(await digestOf(`cco-${V}-darwin-arm64.tar.gz`))
    const m = await stub().manifest('beta')
    expect(JSON.parse(atob(JSON.parse(m.body).payload.replace(/-/g, '+').replace(/_/g, '/'))).release.version).toBe(V)
  })

  it('refuses the release when the checksums file has no line for an asset', async () => {
    const { assets } = await releaseWithoutDigests()
    fakeNetwork({ [CHECKSUMS_URL]: () => new Response(`${'a'.repeat(64)}  some-other-file.tar.gz\n`) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    const release = await stub().getRelease(V)
    expect(release?.status).toBe('refused')
    expect(release?.reason).toMatch(/has no sha256 digest and "checksums.txt" has no line for it/)
    expect((await stub().channelStates()).find((c) => c.channel === 'beta')?.version).toBeNull()
  })

  it('refuses an asset whose GitHub digest and checksums line disagree', async () => {
    const { assets } = await releaseWithoutDigests()
    assets[1] = { ...assets[1]!, digest: `sha256:${'b'.repeat(64)}` }
    const { checksums } = await releaseWithoutDigests()
    fakeNetwork({ [CHECKSUMS_URL]: () => new Response(checksums) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    expect((await stub().getRelease(V))?.reason).toMatch(/GitHub's digest and "checksums.txt" disagree/)
  })

  it('follows redirects on allowed hosts and refuses one that leaves them', async () => {
    const { assets, checksums } = await releaseWithoutDigests()
    const cdn = 'https://release-assets.githubusercontent.com/signed/checksums.txt?token=x'
    const net = fakeNetwork({
      [CHECKSUMS_URL]: () => new Response(null, { status: 302, headers: { location: cdn } }),
      [cdn]: () => new Response(checksums),
    })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    expect(net.asked).toEqual([CHECKSUMS_URL, cdn])
    expect((await stub().getRelease(V))?.status).toBe('live')

    const V2 = '2026.12.2'
    const other = await releaseWithoutDigests()
    const url2 = CHECKSUMS_URL.replace(V, V2)
    const assets2 = other.assets.map((a) => ({ ...a, name: a.name.replace(V, V2), url: a.url.replaceAll(V, V2) }))
    vi.restoreAllMocks()
    fakeNetwork({ [url2]: () => new Response(null, { status: 302, headers: { location: 'https://evil.example/checksums.txt' } }) })
    await sendRelease({ action: 'published', tag: `v${V2}`, assets: assets2 })
    await runDurableObjectAlarm(stub())
    const refused = await stub().getRelease(V2)
    expect(refused?.status).toBe('refused')
    expect(refused?.reason).toMatch(/redirect target is on evil.example, which is not in ASSET_HOSTS/)
  })

  it('retries a failing download with growing delays, then refuses the release with the reason', async () => {
    const { assets } = await releaseWithoutDigests()
    const net = fakeNetwork({ [CHECKSUMS_URL]: () => new Response('busy', { status: 503 }) })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })

    const delays: number[] = []
    for (let attempt = 1; attempt < CHECKSUMS_MAX_ATTEMPTS; attempt++) {
      await makeAlarmJobsDue()
      const before = Date.now()
      expect(await runDurableObjectAlarm(stub())).toBe(true)
      const release = await stub().getRelease(V)
      expect(release?.status).toBe('pending')
      expect(release?.pending).toMatchObject({ attempts: attempt, last_error: 'HTTP 503' })
      delays.push(Date.parse(release!.pending!.next_attempt_at!) - before)
    }
    // Each wait is about twice the one before (exponential backoff).
    for (let i = 1; i < delays.length; i++) expect(delays[i]! / delays[i - 1]!).toBeGreaterThan(1.5)

    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    expect(net.asked).toHaveLength(CHECKSUMS_MAX_ATTEMPTS)
    const release = await stub().getRelease(V)
    expect(release?.status).toBe('refused')
    expect(release?.reason).toBe(`checksums file "checksums.txt" could not be fetched after ${CHECKSUMS_MAX_ATTEMPTS} attempts: HTTP 503`)
    expect(release?.pending).toBeNull()
    const failures = (await auditLog()).filter((e) => e.action === 'checksums.fetch_failed')
    expect(failures).toHaveLength(CHECKSUMS_MAX_ATTEMPTS - 1)
  })

  it('refuses a checksums file over 1 MiB without reading all of it', async () => {
    const { assets } = await releaseWithoutDigests()
    fakeNetwork({
      [CHECKSUMS_URL]: () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new Uint8Array(64 * 1024).fill(0x61))
            },
          }),
        ),
    })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    await runDurableObjectAlarm(stub())
    expect((await stub().getRelease(V))?.reason).toMatch(/larger than 1048576 bytes/)
  })

  it('recomputes from the newer payload when the release changed while its checksums were downloading', async () => {
    const { assets, checksums: oldSums } = await releaseWithoutDigests()
    // The assets are re-uploaded under the same names (same URLs), with a new checksums file.
    const [linux, mac] = assets as [FixtureAsset, FixtureAsset]
    const newSums = `${await digestOf(linux.name + '#2')}  ${linux.name}\n${await digestOf(mac.name + '#2')}  ${mac.name}\n`
    let unblock!: () => void
    const gate = new Promise<void>((r) => (unblock = r))
    let calls = 0
    fakeNetwork({
      [CHECKSUMS_URL]: async () => {
        calls++
        if (calls > 1) return new Response(newSums)
        await gate // the first download hangs until the edit has landed, then answers the old file
        return new Response(oldSums)
      },
    })
    await sendRelease({ action: 'published', tag: `v${V}`, assets })
    const alarm = runDurableObjectAlarm(stub())
    await vi.waitFor(() => expect(calls).toBe(1))
    const edit = await sendRelease({ action: 'edited', tag: `v${V}`, assets: assets.map((a) => ({ ...a, size: a.size + 1 })), body: 'rebuilt' })
    expect(edit.body.status).toBe('queued')
    unblock()
    await alarm
    // The old file's digests were not applied to the new payload: it is fetched again.
    expect((await stub().getRelease(V))?.status).toBe('pending')
    await makeAlarmJobsDue()
    await runDurableObjectAlarm(stub())
    const r = await stub().getRelease(V)
    expect(r?.status).toBe('live')
    expect(r?.notes).toBe('rebuilt')
    expect(r?.assets['linux-x86_64']?.sha256).toBe(await digestOf(linux.name + '#2'))
    expect(calls).toBe(2)
  })
})
