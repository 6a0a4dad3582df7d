// An https broker with a private CA (trusted through network.ca_file or NODE_EXTRA_CA_CERTS,
// reached directly or through a proxy's CONNECT), and freshness on a 304: the stored manifest
// is verified again, expiry included.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canonicalAssetName } from '../../contract/platform.ts'
import { ConfigSchema } from '../../client/src/config/schema.ts'
import { RefusedError } from '../../client/src/errors.ts'
import { checkForUpdate } from '../../client/src/update/check.ts'
import { createUpdateContext } from '../../client/src/update/context.ts'
import { testApp } from '../support/app-context.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { makeHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { selfSignedCertificate, type SelfSigned } from '../support/self-signed.ts'
import { createSigner, manifestPayload, sha256, signManifest, type Signer } from '../../support/signed-manifest.ts'
import { startTinyproxy, TINYPROXY } from '../support/tinyproxy.ts'
import { PLATFORM, VERSION_A, VERSION_B } from '../support/update-fixture.ts'

describe('an https broker with a private CA', () => {
  let tls: SelfSigned
  let server: ReleaseServer
  let signer: Signer
  let bundleA: string
  beforeAll(async () => {
    tls = selfSignedCertificate()
    server = await startReleaseServer({ tls })
    signer = await createSigner('tls-key')
    bundleA = await clientBundle({ version: VERSION_A })
    const archive = releaseTarGz(readFileSync(await clientBundle({ version: VERSION_B })))
    const name = canonicalAssetName(VERSION_B, PLATFORM)
    server.file(`/d/${name}`, archive)
    const payload = manifestPayload({ version: VERSION_B, assets: { [PLATFORM]: { name, url: `${server.url}/d/${name}`, size: archive.length, sha256: sha256(archive) } } })
    server.manifest('stable', await signManifest(payload, [signer]))
  }, 60_000)
  afterAll(async () => {
    await server.close()
    tls.cleanup()
  })

  function host(extra = '') {
    const h = makeHome()
    h.writeConfig({ server: server.url, keys: [signer.publicKey], extra })
    h.install(bundleA)
    return h
  }

  it('refuses the unknown certificate (exit 3)', async () => {
    const h = host()
    const r = await runCco(h.installPath, ['update', '--check'], { home: h.home })
    expect(r.code, show(r)).toBe(3)
    expect(r.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+: .*(self-signed|SELF_SIGNED)/i)
    h.cleanup()
  })

  it('trusts it through network.ca_file, for the manifest and the download', async () => {
    const h = host(`[network]\nca_file = "${tls.certFile}"\n`)
    const r = await runCco(h.installPath, ['update', '--yes'], { home: h.home })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)
    h.cleanup()
  })

  it('trusts it through NODE_EXTRA_CA_CERTS', async () => {
    const h = host()
    const r = await runCco(h.installPath, ['update', '--check'], { home: h.home, env: { NODE_EXTRA_CA_CERTS: tls.certFile } })
    expect(r.code, show(r)).toBe(0)
    h.cleanup()
  })

  it.skipIf(!TINYPROXY)('tunnels https through the proxy with CONNECT', async () => {
    const proxy = await startTinyproxy()
    try {
      const h = host(`[network]\nca_file = "${tls.certFile}"\n`)
      const r = await runCco(h.installPath, ['update', '--yes'], { home: h.home, env: { HTTPS_PROXY: proxy.url } })
      expect(r.code, show(r)).toBe(0)
      expect(proxy.log()).toMatch(new RegExp(`CONNECT 127\\.0\\.0\\.1:${server.port}`))
      h.cleanup()
    } finally {
      await proxy.stop()
    }
  })
})

describe('a 304 from the broker', () => {
  interface SignedBroker {
    server: ReleaseServer
    signer: Signer
    bytes: Buffer
    app: ReturnType<typeof testApp>
    ctx: ReturnType<typeof createUpdateContext>
    setNow(now: Date): void
  }

  /** A broker serving a signed seq-3 manifest on stable, and the update context of a host whose clock the test sets. */
  async function withSignedBroker(kid: string, test: (b: SignedBroker) => Promise<void>): Promise<void> {
    const server = await startReleaseServer()
    const signer = await createSigner(kid)
    const h = makeHome()
    try {
      const bytes = await signManifest(manifestPayload({ version: VERSION_B, seq: 3 }), [signer])
      server.manifest('stable', bytes)
      let now = new Date()
      const app = testApp(h.home, { clock: { now: () => now } })
      const config = ConfigSchema.parse({ updates: { server: server.url }, trust: { keys: [signer.publicKey] } })
      const ctx = createUpdateContext(app, config, app.paths.configFile)
      try {
        await test({ server, signer, bytes, app, ctx, setNow: (d) => (now = d) })
      } finally {
        await ctx.http.close()
      }
    } finally {
      await server.close()
      h.cleanup()
    }
  }

  it('re-verifies the stored manifest, so an expired one is refused even when unchanged', () =>
    withSignedBroker('fresh-key', async ({ server, app, ctx, setNow }) => {
      const first = await checkForUpdate(ctx)
      expect(first.notModified).toBe(false)
      const second = await checkForUpdate(ctx)
      expect(second.notModified).toBe(true)
      expect(second.seq).toBe(3)

      const trust = readFileSync(join(app.paths.trustDir, 'stable.json'), 'utf8')
      setNow(new Date(Date.now() + 8 * 86_400_000))
      const err = await checkForUpdate(ctx).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RefusedError)
      expect((err as RefusedError).rule).toBe('expired')
      expect(server.requests.filter((r) => r.path.endsWith('/manifest')).at(-1)?.headers['if-none-match']).toBeDefined()
      expect(readFileSync(join(app.paths.trustDir, 'stable.json'), 'utf8')).toBe(trust)
    }))

  it('does not verify the same bytes twice in one run, but still checks them for expiry and seq', () =>
    withSignedBroker('once-key', async ({ server, signer, bytes, ctx, setNow }) => {
      const first = await checkForUpdate(ctx)
      expect(first.verified.sha256).toBe(sha256(bytes))

      // Without any pinned key, a full verification is refused: that is what shows whether the
      // signature was checked again.
      const unpinned = { ...ctx, trustKeys: [] }
      const refused = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (e instanceof RefusedError ? e.rule : e))
      expect(await refused(checkForUpdate(unpinned))).toBe('untrusted-key')
      const again = await checkForUpdate(unpinned, { verified: first.verified })
      expect(again.notModified).toBe(true)
      expect(again.decision).toEqual(first.decision)

      // The carried result does not outlive the manifest's expiry.
      setNow(new Date(Date.now() + 8 * 86_400_000))
      expect(await refused(checkForUpdate(unpinned, { verified: first.verified }))).toBe('expired')
      setNow(new Date())

      // Other bytes (a new manifest) are verified in full, whatever was carried.
      server.manifest('stable', await signManifest(manifestPayload({ version: VERSION_B, seq: 4 }), [signer]))
      expect(await refused(checkForUpdate(unpinned, { verified: first.verified }))).toBe('untrusted-key')
      expect((await checkForUpdate(ctx, { verified: first.verified })).seq).toBe(4)
    }))
})
