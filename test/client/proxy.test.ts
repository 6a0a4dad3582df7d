// Through a real forward proxy (tinyproxy): the manifest and the download go through it,
// NO_PROXY bypasses it, the config can override the environment, and a proxy that wants
// credentials produces a message that says so.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { show } from '../../support/cco-process.ts'
import { startTinyproxy, TINYPROXY, type Tinyproxy } from '../support/tinyproxy.ts'
import { startUpdateFixture, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

if (!TINYPROXY) console.warn('proxy tests skipped: tinyproxy is not installed here (apt-get install tinyproxy-bin; CI installs it)')

describe.skipIf(!TINYPROXY)('through tinyproxy', () => {
  let fx: UpdateFixture
  let proxy: Tinyproxy
  let authProxy: Tinyproxy
  beforeAll(async () => {
    fx = await startUpdateFixture()
    proxy = await startTinyproxy()
    authProxy = await startTinyproxy({ basicAuth: ['fleet', 'hunter2'] })
  }, 60_000)
  afterAll(async () => {
    await proxy?.stop()
    await authProxy?.stop()
    await fx?.close()
  })

  const requested = (p: Tinyproxy, path: string) => p.log().includes(`GET ${fx.server.url}${path}`)

  it('fetches the manifest and the archive through HTTP_PROXY', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'], { env: { HTTP_PROXY: proxy.url } })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)
    expect(requested(proxy, '/v1/channels/stable/manifest')).toBe(true)
    expect(proxy.log()).toMatch(new RegExp(`GET ${fx.server.url}/download/${VERSION_B}/\\w+/cco-${VERSION_B}-`))
  })

  it('honours the lower-case spelling too', async () => {
    await fx.publish({ version: VERSION_B })
    const before = proxy.log().length
    const r = await fx.run(fx.host(), ['update', '--check'], { env: { http_proxy: proxy.url } })
    expect(r.code, show(r)).toBe(0)
    expect(proxy.log().slice(before)).toContain(`GET ${fx.server.url}/v1/channels/stable/manifest`)
  })

  it('bypasses the proxy for hosts in NO_PROXY', async () => {
    await fx.publish({ version: VERSION_B })
    const before = proxy.log().length
    const requests = fx.server.requests.length
    const r = await fx.run(fx.host(), ['update', '--yes'], { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } })
    expect(r.code, show(r)).toBe(0)
    expect(proxy.log().slice(before)).not.toContain('GET ')
    // Direct requests carry no Via header from the proxy.
    expect(fx.server.requests.slice(requests).every((q) => q.headers.via === undefined)).toBe(true)
  })

  it('lets network.proxy in the config override the environment', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host({ extra: `[network]\nproxy = "${proxy.url}"\n` })
    const before = proxy.log().length
    // The environment names a proxy that does not exist: only the config's proxy works.
    const r = await fx.run(h, ['update', '--check'], { env: { HTTP_PROXY: 'http://127.0.0.1:9' } })
    expect(r.code, show(r)).toBe(0)
    expect(proxy.log().slice(before)).toContain(`GET ${fx.server.url}/v1/channels/stable/manifest`)
  })

  it('says that the proxy wants credentials (407), and works once they are given', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'], { env: { HTTPS_PROXY: authProxy.url, HTTP_PROXY: authProxy.url } })
    expect(r.code, show(r)).toBe(3)
    expect(r.stderr).toContain(
      `proxy authentication required (HTTP 407) from ${authProxy.url}: set credentials in HTTP(S)_PROXY as http://user:pass@host:port`,
    )
    const withCreds = authProxy.url.replace('http://', 'http://fleet:hunter2@')
    const ok = await fx.run(h, ['update', '--yes'], { env: { HTTP_PROXY: withCreds } })
    expect(ok.code, show(ok)).toBe(0)
    expect(ok.stdout + ok.stderr).not.toContain('hunter2')
  })

  it('reports an unreachable proxy as a network error (exit 3)', async () => {
    const r = await fx.run(fx.host(), ['update', '--check'], { env: { HTTP_PROXY: 'http://127.0.0.1:9' } })
    expect(r.code, show(r)).toBe(3)
    expect(r.stderr).toMatch(/cannot reach .* via proxy http:\/\/127\.0\.0\.1:9/)
  })
})
