// updates.window for people: `cco config set` refuses a bad window naming what is wrong (exit 2,
// file untouched), a bad window in the file is refused when it loads, `config get/show` show the
// windows; `cco update --check` says when the next window opens, after the usual lines, and
// `cco update --yes` outside a window installs anyway, saying so in one line.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../client/src/config/load.ts'
import { setConfigValue } from '../../client/src/config/store.ts'
import { formatDayTime, nextOpening, parseWindows } from '../../client/src/config/window.ts'
import { formatUpdateEvent } from '../../client/src/output/format.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { show } from '../../support/cco-process.ts'
import { startUpdateFixture, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'
import { usageError } from '../support/usage-error.ts'

const MIN = 60_000

describe('updates.window in the config', () => {
  let h: CcoHome
  beforeEach(() => {
    h = makeHome()
    return () => h.cleanup()
  })
  const write = (text: string) => h.writeConfigText(text)

  it('sets one window or several, shows them as cco reads them, and unsets with ""', () => {
    expect(setConfigValue(h.configFile, 'updates.window', 'tue 2:00-3:00')).toEqual({ key: 'updates.window', value: 'Tue 02:00-03:00 UTC' })
    expect(loadConfig(h.configFile).config.updates.window).toBe('tue 2:00-3:00')
    expect(setConfigValue(h.configFile, 'updates.window', 'Mon-Fri 22:00-23:30 UTC; Sat,Sun 01:00-05:00').value).toBe('Mon-Fri 22:00-23:30 UTC; Sat,Sun 01:00-05:00 UTC')
    expect(setConfigValue(h.configFile, 'updates.window', '')).toEqual({ key: 'updates.window', value: '(not set)' })
    expect(readFileSync(h.configFile, 'utf8')).not.toContain('window')
  })

  it.each([
    ['Tue 25:00-03:00', '"25:00" is not a time'],
    ['Tuesday 02:00-03:00', '"Tuesday" is not a day'],
    ['Tue 02:00-03:00 Europe/Berlin', 'time zone names are not supported'],
    ['Tue 02:00-02:00', 'it starts and ends at 02:00'],
    ['every night', 'is not a window'],
  ])('refuses %j naming what is wrong, and leaves the file as it was', (value, why) => {
    write('[updates]\nchannel = "beta"\n')
    const err = usageError(() => setConfigValue(h.configFile, 'updates.window', value))
    expect(err.message).toContain(`invalid value ${JSON.stringify(value)} for updates.window (`)
    expect(err.message).toContain(why)
    expect(err.message).toContain('allowed values are one or more windows like "Tue 02:00-03:00 UTC"')
    expect(readFileSync(h.configFile, 'utf8')).toBe('[updates]\nchannel = "beta"\n')
  })

  it('reads a TOML array of windows, and refuses a file with a bad one when it loads', () => {
    write('[updates]\nwindow = ["Tue 02:00-03:00 UTC", "daily 23:00-01:00"]\n')
    expect(loadConfig(h.configFile).config.updates.window).toEqual(['Tue 02:00-03:00 UTC', 'daily 23:00-01:00'])
    write('[updates]\nwindow = ["Tue 02:00-03:00 UTC", "Tue 02:00-03:61"]\n')
    const err = usageError(() => loadConfig(h.configFile))
    expect(err.message).toContain(`invalid config file ${h.configFile}: updates.window: window "Tue 02:00-03:61": "03:61" is not a time`)
    write('[updates]\nwindow = 3\n')
    expect(usageError(() => loadConfig(h.configFile)).message).toContain('updates.window: must be one or more windows like')
  })
})

describe('the lines of cco update about the window', () => {
  const next = nextOpening(unwrap(parseWindows(['Tue 02:00-03:00 UTC'])), Date.parse('2026-12-01T05:00:00Z'))!

  it('prints the next opening for --check, and says a manual install does not wait', () => {
    expect(formatUpdateEvent({ type: 'window', installing: false, openUntil: null, nextOpening: next.start, window: 'Tue 02:00-03:00 UTC' })).toEqual([
      'ℹ️  Next maintenance window: Tue 2026-12-08 02:00 UTC',
    ])
    expect(formatUpdateEvent({ type: 'window', installing: false, openUntil: next.end, nextOpening: next.start + 7 * 1440 * MIN, window: 'Tue 02:00-03:00 UTC' })).toEqual([
      'ℹ️  Maintenance window open now: Tue 02:00-03:00 UTC, until 03:00 UTC',
    ])
    expect(formatUpdateEvent({ type: 'window', installing: true, openUntil: null, nextOpening: next.start, window: 'Tue 02:00-03:00 UTC' })).toEqual([
      'ℹ️  Outside the maintenance window Tue 02:00-03:00 UTC (next: Tue 2026-12-08 02:00 UTC): installing now as asked; only the daemon waits for it',
    ])
  })
})

function unwrap(r: ReturnType<typeof parseWindows>) {
  if (!r.ok) throw new Error(r.problem)
  return r.windows
}

/** A window that is closed now: opens in two hours, every day (UTC). */
function closedWindow(): string {
  const m = Math.floor((Date.now() % (1440 * MIN)) / MIN)
  const hhmm = (x: number) => `${String(Math.floor((x % 1440) / 60)).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}`
  return `daily ${hhmm(m + 120)}-${hhmm(m + 180)} UTC`
}

describe('cco update with a window, through the CLI', () => {
  let fx: UpdateFixture
  beforeAll(async () => {
    fx = await startUpdateFixture()
    await fx.publish({ version: VERSION_B })
  }, 60_000)
  afterAll(() => fx.close())

  it('`cco update --check` keeps its lines and adds when the next window opens', async () => {
    const h = fx.host()
    const window = closedWindow()
    expect((await fx.run(h, ['config', 'set', 'updates.window', window])).code).toBe(0)
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines.slice(0, 4)).toEqual(['→ Checking for updates...', `→ Current version: ${VERSION_A}`, `→ Latest version: ${VERSION_B}`, `ℹ️  New version available: ${VERSION_B}`])
    const expected = formatDayTime(nextOpening(unwrap(parseWindows([window])), Date.now())!.start)
    expect(lines[4]).toBe(`ℹ️  Next maintenance window: ${expected}`)
    expect(lines.slice(5)).toEqual([''])
  })

  it('`cco update --yes` outside the window installs, saying so in one line', async () => {
    const h = fx.host()
    expect((await fx.run(h, ['config', 'set', 'updates.window', closedWindow()])).code).toBe(0)
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout.match(/Outside the maintenance window/g)).toHaveLength(1)
    expect(r.stdout).toMatch(/^ℹ️ {2}Outside the maintenance window daily \d\d:\d\d-\d\d:\d\d UTC \(next: \w{3} \d{4}-\d\d-\d\d \d\d:\d\d UTC\): installing now as asked; only the daemon waits for it$/m)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)
    expect((await fx.run(h, ['--version'])).stdout).toBe(`cco ${VERSION_B}\n`)
  })

  it('says nothing about windows when none is set', async () => {
    const r = await fx.run(fx.host(), ['update', '--check'])
    expect(r.stdout).not.toContain('maintenance window')
    const j = await fx.run(fx.host(), ['update', '--check', '--json'])
    expect(JSON.parse(j.stdout)).toMatchObject({ status: 'available', maintenance_window: null })
  })

  it('`cco update --check --json` has the windows, whether one is open and the next opening', async () => {
    const h = fx.host()
    const window = closedWindow()
    expect((await fx.run(h, ['config', 'set', 'updates.window', `${window}; Tue 02:00-03:00`])).code).toBe(0)
    const r = await fx.run(h, ['update', '--check', '--json'])
    expect(r.code, show(r)).toBe(0)
    const j = JSON.parse(r.stdout) as { maintenance_window: { windows: string[]; open_until: string | null; next_opening: string } }
    expect(j.maintenance_window.windows).toEqual([window, 'Tue 02:00-03:00 UTC'])
    expect(j.maintenance_window.next_opening).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/)
    const opensIn = Date.parse(j.maintenance_window.next_opening) - Date.now()
    expect(opensIn).toBeGreaterThan(0)
    expect(opensIn).toBeLessThanOrEqual(120 * MIN)
    if (j.maintenance_window.open_until !== null) expect(j.maintenance_window.open_until).toMatch(/T03:00:00Z$/)
  })

  it('`cco config show` lists the windows after the Update Configuration lines, and --json has them', async () => {
    const h = fx.host()
    expect((await fx.run(h, ['config', 'set', 'updates.window', 'mon-fri 22:00-23:30;Sat,Sun 1:00-5:00'])).code).toBe(0)
    const r = await fx.run(h, ['config', 'show'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`  Server: ${fx.server.url}\n  Maintenance window: Mon-Fri 22:00-23:30 UTC; Sat,Sun 01:00-05:00 UTC\n\nDaemon Configuration:`)
    const j = JSON.parse((await fx.run(h, ['config', 'show', '--json'])).stdout) as { updates: { window: string[] } }
    expect(j.updates.window).toEqual(['Mon-Fri 22:00-23:30 UTC', 'Sat,Sun 01:00-05:00 UTC'])
    expect((await fx.run(fx.host(), ['config', 'show'])).stdout).toContain('  Maintenance window: none (the daemon installs right after a check)\n')
  })

  it('exits 2 for a bad window on the command line', async () => {
    const h = fx.host()
    const r = await fx.run(h, ['config', 'set', 'updates.window', 'Tue 02:00-03:00 CET'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('invalid value "Tue 02:00-03:00 CET" for updates.window (window "Tue 02:00-03:00 CET": "CET" is not a zone')
    const get = await fx.run(h, ['config', 'get', 'updates.window'])
    expect(get.stdout).toBe('updates.window = (not set)\n')
  })
})
