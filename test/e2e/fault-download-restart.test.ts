// The broker (serving the manifest and the archive) dies after sending part of the archive and
// comes back: a real `cco update --yes` retries once, resuming with `Range` (or starting over
// when the server ignores it), and succeeds; when the server stays down or breaks off again it
// fails cleanly (exit 3, A still installed, no temp dir, no journal). The resume rules
// themselves (Content-Range checked, size cap, If-Range) are tested on downloadArtifact.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CliError } from '../../client/src/errors.ts'
import { createHttpClient } from '../../client/src/system/http.ts'
import { downloadArtifact } from '../../client/src/update/download.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startFaultyBroker, type ArchiveStep, type FaultyBroker } from '../support/fault-broker.ts'
import { createSigner, sha256, type Signer } from '../../support/signed-manifest.ts'
import { PLATFORM, tempDirs, VERSION_A, VERSION_B } from '../support/update-fixture.ts'

let signer: Signer
let bundleA: string
let archiveB: Buffer
const cleanups: (() => unknown)[] = []

beforeAll(async () => {
  signer = await createSigner('test-key-1')
  bundleA = await clientBundle({ version: VERSION_A })
  archiveB = releaseTarGz(readFileSync(await clientBundle({ version: VERSION_B })))
}, 60_000)
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function setUp(plan: ArchiveStep[]): Promise<{ broker: FaultyBroker; host: CcoHome }> {
  const broker = await startFaultyBroker({ signer, version: VERSION_B, platform: PLATFORM, archive: archiveB, plan })
  const host = makeHome()
  host.writeConfig({ server: broker.url, keys: [signer.publicKey] })
  host.install(bundleA)
  cleanups.push(() => broker.close(), () => host.cleanup())
  return { broker, host }
}

const update = (h: CcoHome) => runCco(h.installPath, ['update', '--yes'], { home: h.home, timeoutMs: 60_000 })
const versionOf = async (h: CcoHome) => /^cco (\S+)\n$/.exec((await runCco(h.installPath, ['--version'], { home: h.home })).stdout)?.[1]

function expectUntouched(h: CcoHome): void {
  expect(readFileSync(h.installPath)).toEqual(readFileSync(bundleA))
  expect(tempDirs(h)).toEqual([])
  expect(existsSync(h.journal)).toBe(false)
}

describe.concurrent('cco update while the broker restarts mid-stream', () => {
  it('resumes with Range once the broker is back, and installs B', async () => {
    const half = Math.floor(archiveB.length / 2)
    const { broker, host } = await setUp([{ dieAfter: half, restartAfterMs: 200 }])
    const r = await update(host)
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`Successfully updated to ${VERSION_B}`)
    expect(await versionOf(host)).toBe(VERSION_B)
    expect(tempDirs(host)).toEqual([])
    expect(broker.requests).toHaveLength(2)
    const [first, second] = broker.requests
    expect(first!.range).toBeUndefined()
    expect(second!.status).toBe(206)
    expect(second!.range).toMatch(/^bytes=\d+-$/)
    expect(second!.ifRange).toBe('"archive-v1"')
    // Only the rest was sent again: what the first attempt got was kept.
    const resumedAt = Number(/\d+/.exec(second!.range!)![0])
    expect(resumedAt).toBeGreaterThan(0)
    expect(resumedAt).toBeLessThanOrEqual(half)
    expect(second!.sent).toBe(archiveB.length - resumedAt)
  })

  it('starts over when the restarted broker ignores Range, and installs B', async () => {
    const { broker, host } = await setUp([{ dieAfter: Math.floor(archiveB.length / 3), restartAfterMs: 200 }, { honourRange: false }])
    const r = await update(host)
    expect(r.code, show(r)).toBe(0)
    expect(await versionOf(host)).toBe(VERSION_B)
    expect(broker.requests.map((q) => q.status)).toEqual([200, 200])
    expect(broker.requests[1]!.sent).toBe(archiveB.length)
  })

  it('fails cleanly (exit 3) when the broker stays down', async () => {
    const { broker, host } = await setUp([{ dieAfter: Math.floor(archiveB.length / 2), restartAfterMs: null }])
    const started = Date.now()
    const r = await update(host)
    expect(r.code, show(r)).toBe(3)
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*on the retry after the transfer broke off at \d+ of \d+ bytes/)
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(broker.up).toBe(false)
    expectUntouched(host)
    expect(await versionOf(host)).toBe(VERSION_A)
  })

  it('retries only once: breaking off again fails cleanly (exit 3)', async () => {
    const { broker, host } = await setUp([
      { dieAfter: Math.floor(archiveB.length / 4), restartAfterMs: 100 },
      { dieAfter: 1000, restartAfterMs: 100 },
    ])
    const r = await update(host)
    expect(r.code, show(r)).toBe(3)
    expect(r.stderr).toMatch(/on the retry after the transfer broke off/)
    expect(broker.requests).toHaveLength(2)
    expectUntouched(host)
  })

  it('refuses a resumed body that starts at the wrong offset (exit 3)', async () => {
    const { host } = await setUp([{ dieAfter: Math.floor(archiveB.length / 2), restartAfterMs: 100 }, { contentRange: `bytes 0-${archiveB.length - 1}/${archiveB.length}` }])
    const r = await update(host)
    expect(r.code, show(r)).toBe(3)
    expect(r.stderr).toMatch(/resumed with Content-Range "bytes 0-\d+\/\d+", expected bytes \d+-\d+\/\d+/)
    expectUntouched(host)
  })
})

describe('downloadArtifact resuming', () => {
  const http = createHttpClient({ env: {}, userAgent: 'cco-test' })
  let dir: string
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  afterAll(() => http.close())

  async function download(broker: FaultyBroker, size = broker.archive.length) {
    dir = mkdtempSync(join(tmpdir(), 'cco-resume-'))
    const dest = join(dir, 'archive.tar.gz')
    const result = await downloadArtifact({ http, url: broker.assetUrl, size, sha256: sha256(broker.archive), dest, retryDelayMs: 150 }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    )
    return { result, dest }
  }

  it('keeps the signed size cap on a resumed body', async () => {
    // The manifest says 150 000 bytes; the server has more and, resuming, claims the range
    // ends where the manifest's size does, then sends everything it has.
    const archive = Buffer.alloc(200_000, 7)
    const plan: ArchiveStep[] = [
      { dieAfter: 50_000, restartAfterMs: 50, chunked: true },
      { chunked: true, contentRange: 'bytes 50000-149999/150000' },
    ]
    const broker = await startFaultyBroker({ signer, version: VERSION_B, platform: PLATFORM, archive, plan })
    cleanups.push(() => broker.close())
    const { result, dest } = await download(broker, 150_000)
    expect(broker.requests.map((q) => q.status)).toEqual([200, 206])
    expect(result.ok).toBe(false)
    const e = (result as { e: CliError }).e
    expect(e).toBeInstanceOf(CliError)
    expect(e.message).toMatch(/^Checksum verification failed: received more than the manifest's 150000 bytes/)
    expect(e.exitCode).toBe(4)
    expect(existsSync(dest)).toBe(false)
  })

  it('produces the exact file after resuming at an arbitrary offset', async () => {
    for (const cut of [1, 4096, 65_537, archiveB.length - 1]) {
      const broker = await startFaultyBroker({ signer, version: VERSION_B, platform: PLATFORM, archive: archiveB, plan: [{ dieAfter: cut, restartAfterMs: 30 }] })
      cleanups.push(() => broker.close())
      const { result, dest } = await download(broker)
      expect(result.ok, String((result as { e?: unknown }).e)).toBe(true)
      expect(readFileSync(dest)).toEqual(archiveB)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
