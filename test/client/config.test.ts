// The config file: defaults, validation with clear errors (exit 2), atomic writes that keep
// comments and unknown keys, and the exact output formats in client/README.md.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { configGetCommand } from '../../client/src/commands/config-get.ts'
import { loadConfig } from '../../client/src/config/load.ts'
import { setConfigValue, writeConfigChanges } from '../../client/src/config/store.ts'
import { UsageError } from '../../client/src/errors.ts'
import { testApp } from '../support/app-context.ts'
import { usageError } from '../support/usage-error.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { runCco, show } from '../../support/cco-process.ts'

let h: CcoHome
beforeEach(() => {
  h = makeHome()
  return () => h.cleanup()
})

const HAND_WRITTEN = `# Fleet defaults, managed by hand
[updates]
# stay on stable unless testing
channel = "stable" # do not change without a ticket
enabled = true
future_option = "kept"

[daemon]
port = 3000

[[trust.keys]]
kid = "prod-2026"
x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

[telemetry]
endpoint = "https://example.com"
`

function write(text: string): void {
  h.writeConfigText(text)
}

describe('loading', () => {
  it('uses the defaults when there is no file', () => {
    const { config, text } = loadConfig(h.configFile)
    expect(text).toBeNull()
    expect(config.updates).toMatchObject({ enabled: true, auto_install: false, check_interval: 'daily', channel: 'stable', server: 'http://127.0.0.1:8787', last_check: null })
    expect(config.daemon).toEqual({ port: 3000, host: '127.0.0.1' })
    expect(config.trust.keys).toEqual([])
  })

  it('names the file and the position of a TOML syntax error', () => {
    write('[updates\nchannel = "beta"\n')
    expect(usageError(() => loadConfig(h.configFile)).message).toMatch(new RegExp(`^config file ${h.configFile} is not valid TOML: .*\\(1, \\d+\\)|line`))
  })

  it('names the key and the allowed values of a bad value in the file', () => {
    write('[updates]\nchannel = "nightly"\n')
    expect(usageError(() => loadConfig(h.configFile)).message).toMatch(/updates\.channel: must be one of stable, beta \(got "nightly"\)/)
    write('[daemon]\nhost = "0.0.0.0"\n')
    expect(usageError(() => loadConfig(h.configFile)).message).toMatch(/daemon\.host: must be a loopback address/)
    write('[[trust.keys]]\nkid = "k"\nx = "short"\n')
    expect(usageError(() => loadConfig(h.configFile)).message).toMatch(/trust\.keys\.0\.x: x must be a base64url Ed25519 public key/)
  })
})

describe('config set', () => {
  it('keeps comments, order and keys it does not know', () => {
    write(HAND_WRITTEN)
    setConfigValue(h.configFile, 'updates.channel', 'beta')
    setConfigValue(h.configFile, 'daemon.port', '3100')
    const text = readFileSync(h.configFile, 'utf8')
    expect(text).toBe(HAND_WRITTEN.replace('channel = "stable"', 'channel = "beta"').replace('port = 3000', 'port = 3100'))
  })

  it('adds a key to an existing table and creates a missing file', () => {
    setConfigValue(h.configFile, 'updates.check_interval', '6h')
    expect(loadConfig(h.configFile).config.updates.check_interval).toBe('6h')
    write(HAND_WRITTEN)
    setConfigValue(h.configFile, 'network.proxy', 'http://proxy.corp:3128')
    const text = readFileSync(h.configFile, 'utf8')
    expect(text.startsWith(HAND_WRITTEN.trimEnd())).toBe(true)
    expect(loadConfig(h.configFile).config.network.proxy).toBe('http://proxy.corp:3128')
    setConfigValue(h.configFile, 'network.proxy', '')
    expect(loadConfig(h.configFile).config.network.proxy).toBeUndefined()
  })

  const bad: [string, string, RegExp][] = [
    ['updates.enabled', 'yes', /allowed values are true, false/],
    ['updates.auto_install', '1', /allowed values are true, false/],
    ['updates.check_interval', 'monthly', /allowed values are hourly, daily, weekly, never, or a duration like 90s/],
    ['updates.check_interval', '400d', /between 1s and 365d/],
    ['updates.channel', 'nightly', /allowed values are stable, beta/],
    ['updates.server', 'ftp://broker', /allowed values are an https:\/\/ URL, or http:\/\/ to a loopback host/],
    ['updates.server', 'http://broker.corp', /plain http:\/\/ is only allowed to loopback hosts/],
    ['updates.server', 'not a url', /not a URL/],
    ['daemon.port', '70000', /an integer from 1 to 65535/],
    ['daemon.port', 'abc', /an integer from 1 to 65535/],
    ['daemon.host', '0.0.0.0', /a loopback address/],
    ['network.proxy', 'socks4://x', /unsupported proxy scheme/],
    ['network.ca_file', '/does/not/exist.pem', /file not readable/],
  ]
  for (const [key, value, why] of bad) {
    it(`refuses ${key} = ${JSON.stringify(value)} and leaves the file as it was`, () => {
      write(HAND_WRITTEN)
      const e = usageError(() => setConfigValue(h.configFile, key, value))
      expect(e.message).toContain(key)
      expect(e.message).toMatch(why)
      expect(readFileSync(h.configFile, 'utf8')).toBe(HAND_WRITTEN)
    })
  }

  it('accepts the documented values', () => {
    for (const [key, value] of [
      ['updates.check_interval', 'hourly'],
      ['updates.check_interval', '90s'],
      ['updates.check_interval', '2d'],
      ['updates.check_interval', 'never'],
      ['updates.server', 'https://releases.example.com/cco'],
      ['updates.server', 'http://[::1]:8787'],
      ['daemon.host', '::1'],
      ['daemon.host', 'localhost'],
      ['updates.enabled', 'false'],
    ]) {
      expect(setConfigValue(h.configFile, key!, value!).key).toBe(key)
    }
  })

  it('refuses keys written by cco and unknown keys', () => {
    expect(usageError(() => setConfigValue(h.configFile, 'updates.last_check', '2025-01-01T00:00:00Z')).message).toMatch(/cannot be set: it is written by cco/)
    expect(usageError(() => setConfigValue(h.configFile, 'trust.keys', 'x')).message).toMatch(/edit the config file/)
    expect(usageError(() => setConfigValue(h.configFile, 'updates.colour', 'x')).message).toMatch(/unknown config key "updates.colour"; known keys: updates.enabled/)
  })

  it('refuses to touch a malformed file', () => {
    write('[updates]\nchannel = \n')
    usageError(() => setConfigValue(h.configFile, 'updates.channel', 'beta'))
    expect(readFileSync(h.configFile, 'utf8')).toBe('[updates]\nchannel = \n')
  })

  it('writes through a temp file and a rename, leaving no stray files', () => {
    write(HAND_WRITTEN)
    for (let i = 0; i < 5; i++) setConfigValue(h.configFile, 'updates.channel', i % 2 ? 'beta' : 'stable')
    expect(readdirSync(dirname(h.configFile))).toEqual(['config.toml'])
  })
})

describe('config get', () => {
  it('shows timestamps as "YYYY-MM-DD HH:MM:SS UTC" or Never', () => {
    const app = testApp(h.home)
    expect(configGetCommand(app, 'updates.last_check')).toEqual({ key: 'updates.last_check', value: 'Never' })
    writeConfigChanges(h.configFile, [{ key: 'updates.last_check', value: '2025-11-17T14:32:15Z' }])
    expect(configGetCommand(app, 'updates.last_check').value).toBe('2025-11-17 14:32:15 UTC')
    // A hand-written TOML datetime with an offset works too.
    write('[updates]\nlast_update = 2025-11-17T16:32:15+02:00\n')
    expect(configGetCommand(app, 'updates.last_update').value).toBe('2025-11-17 14:32:15 UTC')
  })

  it('never shows proxy credentials', () => {
    write('[network]\nproxy = "http://alice:s3cret@proxy.corp:3128"\n')
    const v = configGetCommand(testApp(h.home), 'network.proxy').value
    expect(v).not.toContain('s3cret')
    expect(v).toContain('proxy.corp:3128')
  })
})

describe('proxy credentials in messages', () => {
  const messageOf = (fn: () => unknown): string => {
    try {
      fn()
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError)
      return (err as Error).message
    }
    throw new Error('expected a UsageError')
  }

  it('never echoes the password of a refused proxy URL, with a scheme or without one', () => {
    for (const [value, shown] of [
      ['socks5://alice:s3cret@proxy.corp:1080', 'socks5://***@proxy.corp:1080'],
      ['alice:s3cret@proxy.corp:3128', '***@proxy.corp:3128'],
    ]) {
      const message = messageOf(() => setConfigValue(h.configFile, 'network.proxy', value!))
      expect(message).toContain(`invalid value "${shown}" for network.proxy`)
      expect(message).not.toContain('s3cret')
    }
  })

  it('never shows it in an error about the config file, a bad value or bad TOML', () => {
    write('[network]\nproxy = "socks5://alice:s3cret@proxy.corp:1080"\n')
    const bad = messageOf(() => loadConfig(h.configFile))
    expect(bad).toContain('network.proxy: must be an http:// or https:// proxy URL')
    expect(bad).toContain('(got "socks5://***@proxy.corp:1080")')
    expect(bad).not.toContain('s3cret')
    write('[network]\nproxy = "socks5://alice:s3cret@proxy.corp:1080\n')
    const toml = messageOf(() => loadConfig(h.configFile))
    expect(toml).toContain('is not valid TOML')
    expect(toml).not.toContain('s3cret')
  })
})

describe('through the CLI', () => {
  let bin: string
  beforeAll(async () => {
    bin = await clientBundle({ version: '2026.1.1' })
  }, 60_000)
  afterAll(() => {})

  it('prints the Update Configuration block for config show', async () => {
    write('[updates]\nlast_check = "2025-11-17T14:32:15Z"\nchannel = "beta"\n')
    const r = await runCco(bin, ['config', 'show'], { home: h.home })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout.startsWith(
      [
        'Update Configuration:',
        '  Enabled: true',
        '  Auto-install: false',
        '  Check interval: daily',
        '  Channel: beta',
        '  Last check: 2025-11-17 14:32:15 UTC',
        '  Last update: Never',
        '',
      ].join('\n'),
    )).toBe(true)
  })

  it('gets and sets one line at a time, and the admin guide one-liner reads date and time', async () => {
    const set = await runCco(bin, ['config', 'set', 'updates.channel', 'beta'], { home: h.home })
    expect(set.stdout, show(set)).toBe('updates.channel = beta\n')
    writeConfigChanges(h.configFile, [{ key: 'updates.last_check', value: '2025-11-17T14:32:15Z' }])
    const awk = await runCco('/bin/sh', ['-c', `${bin} config get updates.last_check | awk '{print $3, $4}'`], { home: h.home })
    expect(awk.stdout).toBe('2025-11-17 14:32:15\n')
  })

  it('exits 2 with the key and allowed values for a bad value, and for a malformed file', async () => {
    const r = await runCco(bin, ['config', 'set', 'updates.check_interval', 'sometimes'], { home: h.home })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/updates\.check_interval.*allowed values are hourly, daily, weekly, never/)
    write('[updates\n')
    const bad = await runCco(bin, ['config', 'show'], { home: h.home })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(h.configFile)
  })

  it('does not print the password of a refused proxy URL', async () => {
    const r = await runCco(bin, ['config', 'set', 'network.proxy', 'socks5://alice:s3cret@proxy.corp:1080'], { home: h.home })
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain('socks5://***@proxy.corp:1080')
    expect(r.stdout + r.stderr).not.toContain('s3cret')
  })

  it('honours XDG_CONFIG_HOME for config path', async () => {
    const xdg = join(h.home, 'xdg')
    const r = await runCco(bin, ['config', 'path'], { home: h.home, env: { XDG_CONFIG_HOME: xdg } })
    expect(r.stdout).toBe(`${xdg}/cco/config.toml\n`)
    const def = await runCco(bin, ['config', 'path'], { home: h.home })
    expect(def.stdout).toBe(`${h.home}/.config/cco/config.toml\n`)
  })
})
