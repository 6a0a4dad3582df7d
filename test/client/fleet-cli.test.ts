// The host side of fleet reports from the command line, in process with a temporary HOME: the
// `[fleet]` config keys (validated with the contract's rules, the token never shown, a file that
// holds it kept private and refused when others can change it), `cco fleet report --dry-run`
// (exactly the body a send would post) and `cco fleet report` (sends now, says what happened).
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FleetReportSchema } from '../../contract/fleet.ts'
import { main } from '../../client/src/main.ts'
import { appendEvents, newEvent, queueFile, readQueue } from '../../client/src/fleet/queue.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { testApp } from '../support/app-context.ts'
import { serveReports } from '../support/fleet-stand-in.ts'

const TOKEN = 'cco_fleet_secret_5c7b0e'
const HOST_ID = '0e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9'

let reports: Awaited<ReturnType<typeof serveReports>>
beforeAll(async () => {
  reports = await serveReports()
})
afterAll(() => reports.close())

let h: CcoHome
beforeEach(() => {
  h = makeHome('cco-fleet-cli-')
  reports.reports.length = 0
  reports.script([])
  return () => h.cleanup()
})

function writeConfig(text: string, mode = 0o600): void {
  mkdirSync(dirname(h.configFile), { recursive: true })
  writeFileSync(h.configFile, text, { mode })
  chmodSync(h.configFile, mode)
}

async function cco(args: string[], env: Record<string, string> = {}) {
  const app = testApp(h.home, { env, version: '2026.11.2' })
  const code = await main(args, app)
  const { stdout, stderr } = app.out
  // Whatever happens, the token is never printed.
  expect(stdout + stderr).not.toContain(TOKEN)
  return { code, stdout, stderr }
}

describe('[fleet] configuration', () => {
  it('is off by default and shows the section, with the token as set or not set only', async () => {
    let r = await cco(['config', 'show'])
    expect(r.stdout).toContain(['Fleet Reports:', '  Report: false', '  Token: not set', '  Name: none', '  Labels: none', ''].join('\n'))
    writeConfig(`[updates]\nserver = "${reports.url}"\n[fleet]\nreport = true\ntoken = "${TOKEN}"\nname = "prod-1"\n[fleet.labels]\nenv = "prod"\nteam = "infra"\n`)
    r = await cco(['config', 'show'])
    expect(r.stdout).toContain(['Fleet Reports:', '  Report: true', '  Token: set (config file)', '  Name: prod-1', '  Labels: env=prod, team=infra', ''].join('\n'))
    r = await cco(['config', 'show'], { CCO_FLEET_TOKEN: 'from-env' })
    expect(r.stdout).toContain('  Token: set (CCO_FLEET_TOKEN)')
    r = await cco(['config', 'show', '--json'])
    expect(JSON.parse(r.stdout).fleet).toEqual({ report: true, token: 'config', name: 'prod-1', labels: { env: 'prod', team: 'infra' } })
    expect((await cco(['config', 'get', 'fleet.token'])).stdout).toBe('fleet.token = set\n')
    expect((await cco(['config', 'get', 'fleet.labels'])).stdout).toBe('fleet.labels = env=prod, team=infra\n')
  })

  it('sets each key with the contract rules, and keeps a file that holds the token private', async () => {
    writeConfig('# mine\n[updates]\nchannel = "stable"\n', 0o644)
    expect((await cco(['config', 'set', 'fleet.report', 'true'])).stdout).toBe('fleet.report = true\n')
    expect((await cco(['config', 'set', 'fleet.name', 'prod-1'])).stdout).toBe('fleet.name = prod-1\n')
    expect((await cco(['config', 'set', 'fleet.labels.env', 'prod'])).stdout).toBe('fleet.labels.env = prod\n')
    expect((await cco(['config', 'set', 'fleet.labels.app.tier', 'web'])).stdout).toBe('fleet.labels.app.tier = web\n')
    expect(statSync(h.configFile).mode & 0o777).toBe(0o644)
    expect((await cco(['config', 'set', 'fleet.token', TOKEN])).stdout).toBe('fleet.token = set\n')
    expect(statSync(h.configFile).mode & 0o777).toBe(0o600)
    const text = readFileSync(h.configFile, 'utf8')
    expect(text).toMatch(/^# mine/)
    expect(text).toContain('"app.tier" = "web"')
    expect((await cco(['config', 'set', 'fleet.labels.env', ''])).stdout).toBe('fleet.labels.env = (not set)\n')
  })

  it.each([
    ['fleet.name', 'prod 1', /invalid value "prod 1" for fleet\.name: allowed values are a name for this host in fleet reports: 1–64 of A-Z, a-z, 0-9, \. _ -/],
    ['fleet.labels.Env', 'prod', /invalid label key "Env" in fleet\.labels\.Env/],
    ['fleet.labels.env', 'a\u202eb', /invalid value .* for fleet\.labels\.env \(a label value must be printable/],
    ['fleet.labels', 'env=prod', /fleet\.labels cannot be set: set one label with cco config set fleet\.labels\.KEY VALUE/],
    ['fleet.report', 'yes', /invalid value "yes" for fleet\.report: allowed values are true, false/],
  ])('refuses %s = %j (exit 2)', async (key, value, message) => {
    const r = await cco(['config', 'set', key, value])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
  })

  it('refuses a bad token without echoing any of it', async () => {
    const bad = `${TOKEN} with spaces`
    const r = await cco(['config', 'set', 'fleet.token', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('invalid value (not shown) for fleet.token: allowed values are the fleet enrollment token')
    expect(r.stderr).not.toContain('with spaces')
    writeConfig(`[fleet]\ntoken = "${bad}"\n`)
    const show = await cco(['config', 'show'])
    expect(show.code).toBe(2)
    expect(show.stderr).toMatch(/fleet\.token: must be the fleet enrollment token \(1–1024 visible ASCII characters, no spaces\)\n/)
  })

  it('refuses a file that sets the token while others can change it, like every trust-bearing key', async () => {
    writeConfig(`[fleet]\nreport = true\ntoken = "${TOKEN}"\n`, 0o620)
    const r = await cco(['config', 'show'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`refusing config file ${h.configFile}: it sets fleet.token, but others can change it`)
    // A shared file that only names the host (no token) is still read.
    writeConfig('[fleet]\nreport = true\nname = "shared"\n', 0o664)
    expect((await cco(['config', 'get', 'fleet.name'])).stdout).toBe('fleet.name = shared\n')
  })
})

describe('cco fleet report', () => {
  const config = (extra = '') => writeConfig(`[updates]\nserver = "${reports.url}"\ncheck_interval = "6h"\n[fleet]\nreport = true\nname = "prod-1"\n[fleet.labels]\nenv = "prod"\n${extra}`)
  const at = new Date('2026-11-20T10:00:00.000Z')
  const queue = async () => {
    mkdirSync(h.stateDir, { recursive: true })
    writeFileSync(`${h.stateDir}/host-id`, `${HOST_ID}\n`, { mode: 0o600 })
    const host = { version: '2026.11.2', channel: 'stable', platform: 'linux-x86_64', check_interval_s: 21600 } as const
    const events = [
      { event: newEvent({ kind: 'check', outcome: 'up-to-date' }, at), host },
      { event: newEvent({ kind: 'install', outcome: 'failed', from: '2026.11.2', to: '2026.11.3', error_class: 'checksum', exit_code: 4 }, at), host },
    ]
    await appendEvents(h.stateDir, events)
    return events.map((e) => e.event)
  }

  it('--dry-run prints exactly the body a send would post, with the pending events, and sends nothing', async () => {
    config()
    const events = await queue()
    const r = await cco(['fleet', 'report', '--dry-run'])
    expect(r.code, r.stderr).toBe(0)
    const body = {
      schema: 2,
      product: 'cco',
      host_id: HOST_ID,
      name: 'prod-1',
      labels: { env: 'prod' },
      channel: 'stable',
      platform: 'linux-x86_64',
      version: '2026.11.2',
      check_interval_s: 21600,
      events,
    }
    expect(r.stdout).toBe(`${JSON.stringify(body)}\n`)
    expect(FleetReportSchema.safeParse(JSON.parse(r.stdout)).success).toBe(true)
    expect(reports.reports).toHaveLength(0)
    // Then a real send posts those very bytes.
    const sent = await cco(['fleet', 'report'], { CCO_FLEET_TOKEN: TOKEN })
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toBe(`✅ Sent 2 event(s) to ${reports.url}: 2 new, 0 already known\n`)
    expect(reports.reports.map((q) => q.text)).toEqual([r.stdout.trimEnd()])
    expect(readQueue(queueFile(h.stateDir))).toMatchObject({ kind: 'ok', state: { events: [] } })
  })

  it('--dry-run with an empty queue prints nothing and says so on stderr', async () => {
    config()
    const r = await cco(['fleet', 'report', '--dry-run'])
    expect(r).toMatchObject({ code: 0, stdout: '' })
    expect(r.stderr).toContain('Nothing queued')
  })

  it('--dry-run --json shows the bodies as one JSON object', async () => {
    config()
    await queue()
    const r = await cco(['fleet', 'report', '--dry-run', '--json'])
    const j = JSON.parse(r.stdout) as { dry_run: boolean; reports: { events: unknown[] }[]; pending: number }
    expect(j).toMatchObject({ dry_run: true, pending: 2 })
    expect(j.reports[0]!.events).toHaveLength(2)
  })

  it('says what is wrong when it cannot send, keeps the queue, and exits with the code of the problem', async () => {
    config()
    await queue()
    const off = await cco(['fleet', 'report'])
    expect(off.code).toBe(2)
    expect(off.stderr).toContain('no usable fleet token: set fleet.token')
    reports.script([{ status: 503 }])
    const down = await cco(['fleet', 'report'], { CCO_FLEET_TOKEN: TOKEN })
    expect(down.code).toBe(3)
    expect(down.stderr).toContain(`not sent to ${reports.url}: HTTP 503 test: scripted 503 from ${reports.url}/v1/reports; 2 event(s) stay queued`)
    reports.script([{ status: 429, headers: { 'retry-after': '3600' } }])
    expect((await cco(['fleet', 'report'], { CCO_FLEET_TOKEN: TOKEN })).code).toBe(3)
    const held = await cco(['fleet', 'report'], { CCO_FLEET_TOKEN: TOKEN })
    expect(held.code).toBe(3)
    expect(held.stderr).toMatch(/not sent: the broker asked to wait until \S+ \(HTTP 429 Retry-After\); 2 event\(s\) stay queued/)
    expect(reports.reports).toHaveLength(2)
  })

  it('is refused while fleet.report is false', async () => {
    writeConfig(`[updates]\nserver = "${reports.url}"\n`)
    const r = await cco(['fleet', 'report'], { CCO_FLEET_TOKEN: TOKEN })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('fleet reports are off (fleet.report = false)')
  })
})
