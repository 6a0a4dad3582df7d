// The one URL rule (worker/policy/url-policy.ts) for every URL-valued var and every recorded
// download URL: https, plain http only to localhost, 127.0.0.0/8 or [::1], no credentials, no
// control character or space. Config parsing is pure, so most cases call parseConfig with plain
// data; the last ones drive the real app to show the `500 misconfigured` answer.
import { reset } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../worker/app.ts'
import { parseConfig, type ConfigVars } from '../../worker/config.ts'
import { ConfigError } from '../../worker/errors.ts'
import { assetUrlProblem } from '../../worker/policy/asset-hosts.ts'
import { checkUrl, isLoopbackHost } from '../../worker/policy/url-policy.ts'
import { BROKER, fakeNetwork, stub } from './helpers.ts'

const BASE: ConfigVars = { GITHUB_REPOSITORY: 'cco-dev/cco', PUBLIC_URL: 'https://updates.example.com', OIDC_AUDIENCE: 'https://updates.example.com' }
const URL_VARS = ['PUBLIC_URL', 'GITHUB_API_URL', 'OIDC_ISSUER', 'OIDC_JWKS_URL'] as const

/** Values no URL var may hold, with what the error must say about each. */
const BAD: [string, RegExp][] = [
  ['http://updates.example.com', /it uses http, not https/],
  ['http://localhost.evil.com', /it uses http, not https/],
  ['http://127.0.0.1.nip.io', /it uses http, not https/],
  ['http://0.0.0.0:8787', /it uses http, not https/],
  ['http://[::ffff:127.0.0.1]', /it uses http, not https/],
  ['http://10.0.0.1', /it uses http, not https/],
  ['ftp://updates.example.com', /it uses ftp, not https/],
  ['file:///etc/passwd', /it uses file, not https/],
  ['javascript:alert(1)', /it uses javascript, not https/],
  ['https://alice:s3cret@updates.example.com', /it carries credentials/],
  ['https://alice@updates.example.com', /it carries credentials/],
  ['http://user:pw@localhost:8080', /it carries credentials/],
  ['https://updates.exa\nmple.com', /it contains a control character \(U\+000A\)/],
  ['https://updates.example.com/a\tb', /it contains a control character \(U\+0009\)/],
  ['https://updates.example.com/\u0000x', /it contains a control character \(U\+0000\)/],
  ['https://updates.example.com/\u001b[2J', /it contains a control character \(U\+001B\)/],
  ['https://updates.example.com/\u007fx', /it contains a control character \(U\+007F\)/],
  ['https://updates.example.com/\u0085x', /it contains a control character \(U\+0085\)/],
  ['https://updates.example.com/\u2028x', /it contains a control character \(U\+2028\)/],
  ['https://updates.example.com/a b', /it contains a space/],
  ['https://updates.example.com/?x=1', /it has a query or fragment/],
  ['https://updates.example.com/#top', /it has a query or fragment/],
  ['updates.example.com', /it is not a valid URL/],
  ['', /it is not a valid URL/],
]

/** Values every URL var accepts: https anywhere, http to loopback. */
const GOOD = [
  'https://updates.example.com',
  'https://updates.example.com:8443/base',
  'http://localhost:8787',
  'http://127.0.0.1:8787',
  'http://127.255.0.9',
  'http://127.1:9000',
  'http://[::1]:8787',
  'HTTP://LOCALHOST',
]

function configError(vars: ConfigVars): ConfigError | null {
  try {
    parseConfig({ ...BASE, ...vars })
    return null
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
}

describe('URL-valued vars', () => {
  it('refuses plain http to a non-loopback host, other schemes, credentials, control characters and spaces in every one, naming the var', () => {
    // (Whitespace around a value is trimmed, as for every var: a trailing newline is ignored, one inside is refused.)
    for (const name of URL_VARS) {
      for (const [value, problem] of BAD) {
        const err = configError({ [name]: value })
        const what = `${name}=${JSON.stringify(value)}`
        // OIDC_ISSUER / OIDC_JWKS_URL left empty fall back to their defaults.
        if (value === '' && name !== 'PUBLIC_URL') {
          expect(err, what).toBeNull()
          continue
        }
        expect(err, what).toBeInstanceOf(ConfigError)
        expect(err!.message, what).toMatch(new RegExp(`^var ${name} must be `))
        expect(err!.message, what).toMatch(problem)
        expect(err!.message, what).toMatch(/plain http only for localhost, 127\.0\.0\.0\/8 or \[::1\]/)
        // The message is one line of printable text, and never carries a password.
        expect(err!.message, what).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
        expect(err!.message, what).not.toContain('s3cret')
        expect(err!.message, what).not.toContain('pw@')
        expect(err!.status, what).toBe(500)
        expect(err!.code, what).toBe('misconfigured')
      }
    }
  })

  it('accepts https anywhere and plain http only to localhost, 127.0.0.0/8 and [::1]', () => {
    for (const name of URL_VARS) {
      for (const value of GOOD) expect(configError({ [name]: value }), `${name}=${value}`).toBeNull()
    }
    const config = parseConfig({ ...BASE, PUBLIC_URL: 'http://127.1:8787/', GITHUB_API_URL: 'http://[::1]:9000/api/', OIDC_ISSUER: 'http://localhost:9100', OIDC_JWKS_URL: '' })
    expect(config.publicUrl).toBe('http://127.0.0.1:8787')
    expect(config.githubApiUrl).toBe('http://[::1]:9000/api')
    // The issuer is kept as written (it is compared with `iss`); its JWKS URL is derived.
    expect(config.oidc).toMatchObject({ issuer: 'http://localhost:9100', jwksUrl: 'http://localhost:9100/.well-known/jwks' })
  })

  it('checks OIDC_ISSUER even when OIDC_JWKS_URL is set, and no OIDC var while OIDC is off', () => {
    expect(configError({ OIDC_ISSUER: 'http://issuer.example', OIDC_JWKS_URL: 'https://issuer.example/jwks' })?.message).toMatch(/^var OIDC_ISSUER must be an https URL/)
    expect(configError({ OIDC_AUDIENCE: '', OIDC_ISSUER: 'http://issuer.example', OIDC_JWKS_URL: 'ftp://x' })).toBeNull()
  })

  it('refuses an ASSET_HOSTS entry with a control character, a space or credentials instead of letting the parser drop them', () => {
    for (const entry of ['git\thub.com', 'github.com\n', 'git\u0000hub.com', 'git hub.com', 'user:pw@github.com', 'github.com\u2028']) {
      // Surrounding whitespace of an entry is trimmed; inside it, nothing is.
      const err = configError({ ASSET_HOSTS: `objects.githubusercontent.com,${entry}x` })
      expect(err?.message, JSON.stringify(entry)).toMatch(/^var ASSET_HOSTS: ".*" is not a host or host:port$/)
      expect(err?.message, JSON.stringify(entry)).not.toMatch(/[\u0000-\u001f\u2028]/)
    }
  })
})

describe('the rule itself', () => {
  it('knows loopback hosts as the URL parser writes them, and nothing that merely starts like one', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.0.0.255', '127.255.255.255', '[::1]']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['localhost.evil.com', 'evil-localhost', '127.0.0.1.nip.io', '128.0.0.1', '0.0.0.0', '[::ffff:7f00:1]', '[::2]', '127.0.0.256', '']) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
    for (const url of ['http://0x7f000001/', 'http://2130706433/', 'http://127.1/', 'http://0177.0.0.1/']) expect(checkUrl(url).ok, url).toBe(true)
    expect(checkUrl('http://localhost.evil.com/')).toEqual({ ok: false, problem: 'uses http, not https' })
  })

  it('applies to asset URLs, with the ASSET_HOSTS allow-list on top', () => {
    const hosts = [{ hostname: 'github.com', port: null }, { hostname: 'localhost', port: '8080' }, { hostname: 'localhost.evil.com', port: null }]
    expect(assetUrlProblem('https://github.com/a', hosts)).toBeNull()
    expect(assetUrlProblem('http://localhost:8080/a', hosts)).toBeNull()
    // Listed, but not loopback: https only.
    expect(assetUrlProblem('http://localhost.evil.com/a', hosts)).toBe('uses http, not https')
    expect(assetUrlProblem('https://localhost.evil.com/a', hosts)).toBeNull()
    expect(assetUrlProblem('https://github.com/a\r\nSet-Cookie: x=1', hosts)).toBe('contains a control character (U+000D)')
    expect(assetUrlProblem('https://git\thub.com/a', hosts)).toBe('contains a control character (U+0009)')
    expect(assetUrlProblem('https://github.com/a\u0085', hosts)).toBe('contains a control character (U+0085)')
    expect(assetUrlProblem('https://u:p@github.com/a', hosts)).toBe('carries credentials')
  })
})

describe('a bad URL var in a running broker', () => {
  async function call(path: string, vars: Record<string, string>) {
    const res = await createApp().fetch(new Request(`${BROKER}${path}`), { ...env, ...vars })
    return { status: res.status, text: await res.text() }
  }

  it('answers 500 misconfigured naming the var on every route but /health, without echoing a password', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ PUBLIC_URL: 'http://updates.example.com' }, 'PUBLIC_URL'],
      [{ GITHUB_API_URL: 'https://token:ghp_SECRETVALUE@api.github.com' }, 'GITHUB_API_URL'],
      [{ OIDC_ISSUER: 'http://localhost.evil.com' }, 'OIDC_ISSUER'],
      [{ OIDC_JWKS_URL: 'http://evil.example/jwks' }, 'OIDC_JWKS_URL'],
    ]
    for (const [vars, name] of cases) {
      for (const path of ['/v1/channels/stable/manifest', '/v1/releases', '/.well-known/jwks.json']) {
        const r = await call(path, vars)
        expect(r.status, `${name} ${path}`).toBe(500)
        const body = JSON.parse(r.text) as { error: { code: string; message: string } }
        expect(body.error.code).toBe('misconfigured')
        expect(body.error.message).toMatch(new RegExp(`^var ${name} must be `))
        expect(r.text).not.toContain('ghp_SECRETVALUE')
      }
      expect((await call('/health', vars)).status, name).not.toBe(500)
    }
  })
})

describe('redirects of GitHub\'s API during reconciliation', () => {
  const LIST_URL = 'https://api.github.test/repos/cco-dev/cco/releases?per_page=100'
  const MOVED = 'https://api.github.test/repositories/42/releases?per_page=100'
  const redirectTo = (location: string) => () => new Response(null, { status: 301, headers: { location } })
  const emptyList = () => new Response('[]', { headers: { 'content-type': 'application/json' } })

  afterEach(async () => {
    vi.restoreAllMocks()
    await reset()
  })

  it('follows one on the API\'s origin, with the token', async () => {
    const net = fakeNetwork({ [LIST_URL]: redirectTo(MOVED), [MOVED]: emptyList })
    expect(await stub().reconcile()).toMatchObject({ outcome: 'applied' })
    expect(net.asked).toEqual([LIST_URL, MOVED])
    expect(net.requests[1]!.headers.get('authorization')).toBe('Bearer test-github-token')
  })

  it('refuses one to plain http, to another origin or with credentials, without asking there', async () => {
    const cases: [string, RegExp][] = [
      ['http://api.github.test/repositories/42/releases', /redirect target uses http, not https/],
      ['https://evil.example/steal', /redirect to https:\/\/evil\.example refused/],
      ['https://u:p@api.github.test/x', /redirect target carries credentials/],
    ]
    for (const [location, error] of cases) {
      vi.restoreAllMocks()
      const net = fakeNetwork({ [LIST_URL]: redirectTo(location) })
      const result = await stub().reconcile()
      expect(result, location).toMatchObject({ outcome: 'failed', error: expect.stringMatching(error) })
      expect(net.asked, location).toEqual([LIST_URL])
    }
  })
})
