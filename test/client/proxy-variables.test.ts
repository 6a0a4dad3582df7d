// Malformed proxy variables, as a user meets them: `cco update --check` stops with a usage error
// (exit 2) naming the variable and its value (escaped, without a password) before any request
// is made; NO_PROXY stays lenient; `network.proxy` in the config overrides the variables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { show } from '../../support/cco-process.ts'
import { startUpdateFixture, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let fx: UpdateFixture
beforeAll(async () => {
  fx = await startUpdateFixture()
  await fx.publish({ version: VERSION_B })
}, 60_000)
afterAll(() => fx.close())

const NAMES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy'] as const

const MALFORMED: [value: string, why: RegExp][] = [
  ['notaurl', /no scheme/],
  ['proxy.corp:3128', /no scheme/],
  ['http://', /not a URL/],
  ['ftp://x', /scheme ftp:\/\/ is not supported/],
  ['http://proxy corp:3128', /spaces or control characters/],
  ['http://proxy.corp:3128\u0001', /spaces or control characters/],
]

describe('a malformed proxy variable', () => {
  for (const name of NAMES) {
    it(`is a usage error naming ${name}, before any request`, async () => {
      const h = fx.host()
      for (const [value, why] of MALFORMED) {
        const before = fx.server.requests.length
        const r = await fx.run(h, ['update', '--check'], { env: { [name]: value } })
        expect(r.code, `${JSON.stringify(value)}\n${show(r)}`).toBe(2)
        expect(r.stdout).toBe('')
        expect(r.stderr).toContain(`invalid proxy variable ${name}=`)
        expect(r.stderr).toMatch(why)
        expect(fx.server.requests.length, JSON.stringify(value)).toBe(before)
      }
    })
  }

  it('shows the value escaped and without its password', async () => {
    const r = await fx.run(fx.host(), ['update', '--check'], { env: { HTTPS_PROXY: 'http://alice:s3cret@proxy\u001b[2J corp:3128' } })
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain('invalid proxy variable HTTPS_PROXY="http://***@proxy\\u001b[2J corp:3128"')
    expect(r.stderr).not.toContain('s3cret')
    expect(r.stderr).not.toContain('\u001b')
  })

  it('is named in --json output too, with exit 2', async () => {
    const r = await fx.run(fx.host(), ['update', '--check', '--json'], { env: { https_proxy: 'ftp://x' } })
    expect(r.code, show(r)).toBe(2)
    const j = JSON.parse(r.stdout) as { error: { message: string; exit_code: number } }
    expect(j.error.exit_code).toBe(2)
    expect(j.error.message).toContain('invalid proxy variable https_proxy="ftp://x"')
  })

  it('is not consulted when network.proxy overrides the variables', async () => {
    // The configured proxy is bypassed for the local fixture server, so the check succeeds.
    const h = fx.host({ extra: '[network]\nproxy = "http://127.0.0.1:9"\nno_proxy = "127.0.0.1"\n' })
    const r = await fx.run(h, ['update', '--check'], { env: { HTTPS_PROXY: 'notaurl', HTTP_PROXY: 'notaurl' } })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`New version available: ${VERSION_B}`)
  })
})

describe('NO_PROXY', () => {
  it('stays lenient: an odd value is no error', async () => {
    for (const name of ['NO_PROXY', 'no_proxy']) {
      const r = await fx.run(fx.host(), ['update', '--check'], { env: { [name]: ' *.corp ,, 10.0.0.0/8 , not a host ' } })
      expect(r.code, `${name}\n${show(r)}`).toBe(0)
      expect(r.stdout).toContain(`New version available: ${VERSION_B}`)
    }
  })

  it('an empty proxy variable means unset', async () => {
    const r = await fx.run(fx.host(), ['update', '--check'], { env: { HTTPS_PROXY: '', HTTP_PROXY: '' } })
    expect(r.code, show(r)).toBe(0)
  })
})
