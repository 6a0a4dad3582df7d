// Unknown keys in config.toml, as a user meets them: one warning on stderr per key naming the
// key and the nearest known one, exit 0, the rest of the file in force, stdout untouched (what
// scripts parse), the key kept by `config set`, and a hostile key name shown escaped.
import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { editDistance, nearestKnown, unknownConfigKeys } from '../../client/src/config/unknown-keys.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { freePort } from '../../support/ports.ts'
import { daemonHost, waitFor, type DaemonHost } from '../support/daemon-host.ts'
import { startUpdateFixture, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const TYPO = `# hand-written
[updates]
chanel = "beta"
check_interval = "weekly"

[daemon]
prot = 4000
`

const warningLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('warning: unknown key'))

describe('the nearest known key', () => {
  it('counts a swap of two neighbours as one edit', () => {
    expect(editDistance('prot', 'port')).toBe(1)
    expect(editDistance('chanel', 'channel')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  it('suggests the key in the same table, a key from another table, or a misspelt table', () => {
    expect(nearestKnown('updates.chanel')).toBe('updates.channel')
    expect(nearestKnown('daemon.prot')).toBe('daemon.port')
    expect(nearestKnown('updates.auto-install')).toBe('updates.auto_install')
    expect(nearestKnown('daemon.channel')).toBe('updates.channel')
    expect(nearestKnown('update')).toBe('updates')
    expect(nearestKnown('channel')).toBe('updates.channel')
    expect(nearestKnown('trust.keys.kidd')).toBe('trust.keys.kid')
  })

  it('suggests nothing when no known key is close', () => {
    expect(nearestKnown('telemetry')).toBeNull()
    expect(nearestKnown('updates.future_option')).toBeNull()
  })

  it('finds unknown keys in known tables, unknown tables and [[trust.keys]], but not among fleet labels', () => {
    const raw = {
      updates: { channel: 'beta', chanel: 'beta' },
      telemetry: { endpoint: 'x' },
      fleet: { labels: { env: 'prod' } },
      trust: { keys: [{ kid: 'a', x: 'b', kidd: 'c' }, { kidd: 'd' }] },
    }
    expect(unknownConfigKeys(raw).map((u) => u.key)).toEqual(['updates.chanel', 'telemetry', 'trust.keys.kidd'])
  })
})

describe('cco with an unknown key in config.toml', () => {
  let bin: string
  let h: CcoHome
  beforeAll(async () => {
    bin = await clientBundle({ version: '2026.1.1' })
  }, 60_000)
  beforeEach(() => {
    h = makeHome()
    return () => h.cleanup()
  })
  const write = (text: string) => h.writeConfigText(text)

  it('warns on stderr with the nearest key, exits 0 and keeps stdout to the result', async () => {
    write(TYPO)
    const r = await runCco(bin, ['config', 'get', 'updates.channel'], { home: h.home })
    expect(r.code, show(r)).toBe(0)
    // The typo leaves the default in force; the rest of the file is read.
    expect(r.stdout).toBe('updates.channel = stable\n')
    expect(warningLines(r.stderr)).toEqual([
      `warning: unknown key updates.chanel in ${h.configFile} (did you mean updates.channel?); it is ignored and kept`,
      `warning: unknown key daemon.prot in ${h.configFile} (did you mean daemon.port?); it is ignored and kept`,
    ])
    const interval = await runCco(bin, ['config', 'get', 'updates.check_interval'], { home: h.home })
    expect(interval.stdout, show(interval)).toBe('updates.check_interval = weekly\n')
  })

  it('leaves `cco version | head -1` and --json output parseable', async () => {
    write(TYPO)
    const piped = await runCco('/bin/sh', ['-c', `${bin} version | head -1 | awk '{print $3}'`], { home: h.home })
    expect(piped.code, show(piped)).toBe(0)
    expect(piped.stdout).toBe('2026.1.1\n')
    expect(piped.stderr).toContain('did you mean updates.channel?')
    const json = await runCco(bin, ['config', 'show', '--json'], { home: h.home })
    expect(json.code, show(json)).toBe(0)
    expect(() => JSON.parse(json.stdout) as unknown).not.toThrow()
  })

  it('names a key it cannot place without guessing', async () => {
    write('[telemetry]\nendpoint = "https://example.com"\n')
    const r = await runCco(bin, ['config', 'show'], { home: h.home })
    expect(r.code, show(r)).toBe(0)
    expect(warningLines(r.stderr)).toEqual([`warning: unknown key telemetry in ${h.configFile} (not a key this cco knows); it is ignored and kept`])
  })

  it('keeps the unknown key when `config set` rewrites the file', async () => {
    write(TYPO)
    const r = await runCco(bin, ['config', 'set', 'updates.channel', 'beta'], { home: h.home })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toBe('updates.channel = beta\n')
    expect(warningLines(r.stderr)).toHaveLength(2)
    const text = readFileSync(h.configFile, 'utf8')
    expect(text).toContain('chanel = "beta"')
    expect(text).toContain('prot = 4000')
    expect(text).toMatch(/^channel = "beta"$/m)
  })

  it('shows a hostile key name escaped, never as terminal control sequences', async () => {
    write('[updates]\n"chan\\u001b]0;owned\\u0007\\u001b[2Jel" = 1\n"\\u202eyek" = 2\n')
    const r = await runCco(bin, ['config', 'get', 'updates.channel'], { home: h.home })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toBe('updates.channel = stable\n')
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/)
    expect(r.stderr).toContain('unknown key updates.chan\\x1b]0;owned\\x07\\x1b[2Jel in')
    expect(r.stderr).toContain('unknown key updates.\\u202eyek in')
  })
})

describe('a process that reads the config more than once', () => {
  let fx: UpdateFixture
  beforeAll(async () => {
    fx = await startUpdateFixture()
  }, 60_000)
  afterAll(() => fx.close())

  it('warns once per key: `update --check` reads the file, then rewrites last_check', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host({ extra: '[daemon]\nprot = 4000\n' })
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`New version available: ${VERSION_B}`)
    expect(warningLines(r.stderr)).toEqual([`warning: unknown key daemon.prot in ${h.configFile} (did you mean daemon.port?); it is ignored and kept`])
    // last_check was written, and the unknown key is still in the file.
    expect(readFileSync(h.configFile, 'utf8')).toMatch(/last_check = .*[\s\S]*prot = 4000/)
  })
})

describe('a daemon whose config gains an unknown key while it runs', () => {
  let h: DaemonHost | null = null
  afterAll(async () => {
    await h?.teardown()
  }, 60_000)

  it('warns once, in daemon.log as a log line of its own (time and level), on the re-read that finds it', async () => {
    const bin = await clientBundle({ version: '2026.4.2' })
    // Checks every 2 s (against a closed port): each tick re-reads the file.
    h = await daemonHost({ installed: bin, config: { server: `http://127.0.0.1:${await freePort()}`, interval: '2s' } })
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    await h.waitForLog(/Update check failed/, 30_000)
    writeFileSync(h.configFile, `${readFileSync(h.configFile, 'utf8')}\n[telemetry]\nendpint = "x"\n`)
    await h.waitForLog(/unknown key telemetry/, 30_000)
    // Two more ticks: still one warning.
    const after = h.log().length
    await waitFor('two more checks', () => (h!.log().slice(after).match(/Starting update check/g) ?? []).length >= 2, 30_000)
    const warnings = h.log().split('\n').filter((l) => l.includes('unknown key telemetry'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\] \\[WARN\\] warning: unknown key telemetry in ${h.configFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(not a key this cco knows\\); it is ignored and kept$`))
  }, 90_000)
})
