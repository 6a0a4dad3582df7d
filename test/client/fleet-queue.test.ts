// The fleet report queue (client/src/fleet/queue.ts) and the reporter that fills and sends it,
// on real files in a temporary HOME against a local stand-in for POST /v1/reports: bounded to
// the last 200 events, kept across processes, mode 0600, never opened through a link, and each
// event sent with the same id however often it is retried, until the broker has it.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ConfigSchema, type Config } from '../../client/src/config/schema.ts'
import { appendEvents, MAX_QUEUED_EVENTS, newEvent, queueFile, readQueue } from '../../client/src/fleet/queue.ts'
import { fleetReporter } from '../../client/src/fleet/reporter.ts'
import { FIRST_RETRY_MS } from '../../client/src/fleet/retry.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { testApp, type TestApp } from '../support/app-context.ts'
import { serveReports } from '../support/fleet-stand-in.ts'

const TOKEN = 'cco_fleet_test_token_9d1e'

let reports: Awaited<ReturnType<typeof serveReports>>
beforeAll(async () => {
  reports = await serveReports()
})
afterAll(() => reports.close())

let h: CcoHome
let now: Date
let app: TestApp
beforeEach(() => {
  h = makeHome('cco-fleet-queue-')
  now = new Date('2026-11-20T10:00:00.000Z')
  app = testApp(h.home, { clock: { now: () => now } })
  reports.reports.length = 0
  reports.script([])
  return () => h.cleanup()
})

const config = (fleet: Record<string, unknown> = {}): Config =>
  ConfigSchema.parse({ updates: { server: reports.url }, fleet: { report: true, token: TOKEN, ...fleet } })

const check = { kind: 'check', outcome: 'up-to-date' } as const
const host = { version: '2026.1.1', channel: 'stable', platform: 'linux-x86_64', check_interval_s: 86400 } as const
const file = () => queueFile(h.stateDir)

describe('the queue file', () => {
  it('keeps only the newest 200 events', async () => {
    const entries = Array.from({ length: 250 }, (_, i) => ({ event: newEvent(check, new Date(now.getTime() + i * 1000)), host }))
    await appendEvents(h.stateDir, entries.slice(0, 120))
    await appendEvents(h.stateDir, entries.slice(120))
    const read = readQueue(file())
    expect(read.kind).toBe('ok')
    const ids = read.kind === 'ok' ? read.state.events.map((e) => e.event.id) : []
    expect(ids).toHaveLength(MAX_QUEUED_EVENTS)
    expect(ids).toEqual(entries.slice(50).map((e) => e.event.id))
    // The file itself holds no more than that.
    expect((JSON.parse(readFileSync(file(), 'utf8')) as { events: unknown[] }).events).toHaveLength(MAX_QUEUED_EVENTS)
  })

  it('is written with mode 0600 and no temporary files left beside it', async () => {
    await fleetReporter(app, config()).record(check, '2026.1.1')
    expect(statSync(file()).mode & 0o777).toBe(0o600)
    // Neither the lock nor a temporary file stays behind.
    expect(readdirSync(h.stateDir)).toEqual(['fleet-queue.json'])
  })

  it('survives the process: a new reporter reads what an earlier one queued', async () => {
    await fleetReporter(app, config()).record(check, '2026.1.1')
    const later = testApp(h.home, { clock: { now: () => now } })
    const preview = fleetReporter(later, config()).preview()
    expect(preview.pending).toBe(1)
    expect(preview.batches[0]!.body.events[0]).toMatchObject(check)
  })

  it('is never opened through a symbolic link: the event is not queued and the link target is untouched', async () => {
    mkdirSync(h.stateDir, { recursive: true })
    const target = join(h.home, 'elsewhere.json')
    writeFileSync(target, 'precious\n')
    symlinkSync(target, file())
    await fleetReporter(app, config()).record(check, '2026.1.1')
    expect(readFileSync(target, 'utf8')).toBe('precious\n')
    expect(lstatSync(file()).isSymbolicLink()).toBe(true)
    expect(app.out.stderr).toMatch(/warning: fleet report: could not queue the check event: cannot use the fleet report queue .*symbolic link/)
  })

  it('starts over when the file is not a queue (and says nothing)', async () => {
    mkdirSync(h.stateDir, { recursive: true })
    writeFileSync(file(), '{"not": "a queue"', { mode: 0o600 })
    await fleetReporter(app, config()).record(check, '2026.1.1')
    const read = readQueue(file())
    expect(read.kind === 'ok' && read.state.events.length).toBe(1)
  })

  it('keeps the events of two processes that append at the same time', async () => {
    const a = Array.from({ length: 20 }, () => ({ event: newEvent(check, now), host }))
    const b = Array.from({ length: 20 }, () => ({ event: newEvent(check, now), host }))
    await Promise.all([...a.map((e) => appendEvents(h.stateDir, [e])), ...b.map((e) => appendEvents(h.stateDir, [e]))])
    const read = readQueue(file())
    expect(read.kind === 'ok' && read.state.events.length).toBe(40)
  })

  it('queues nothing at all while fleet.report is false', async () => {
    await fleetReporter(app, config({ report: false })).record(check, '2026.1.1')
    expect(existsSync(file())).toBe(false)
  })
})

describe('sending', () => {
  it('sends each event with the same id on every retry until the broker has it, then empties the queue', async () => {
    const reporter = fleetReporter(app, config())
    await reporter.record(check, '2026.1.1')
    await reporter.record({ kind: 'install', outcome: 'installed', from: '2026.1.1', to: '2026.1.2' }, '2026.1.2')
    reports.script([{ status: 500 }, { status: 503 }])
    expect((await reporter.send({ quiet: true })).kind).toBe('failed')
    expect((await reporter.send({ quiet: true })).kind).toBe('failed')
    expect(await reporter.send({ quiet: true })).toMatchObject({ kind: 'sent', sent: 2, accepted: 2, duplicates: 0, pending: 0 })
    const [first, second, third] = reports.reports.map((r) => r.body.events.map((e) => e.id))
    expect(first).toHaveLength(2)
    expect(second).toEqual(first)
    expect(third).toEqual(first)
    expect(readQueue(file())).toMatchObject({ kind: 'ok', state: { events: [], send: { failures: 0, retry_at: null, hold_until: null } } })
    expect(reports.reports.every((r) => r.authorization === `Bearer ${TOKEN}` && r.contentType === 'application/json')).toBe(true)
  })

  it("backs off for the daemon's retries, but sends a new event at once", async () => {
    const reporter = fleetReporter(app, config())
    await reporter.record(check, '2026.1.1')
    reports.script([{ status: 500 }])
    const failed = await reporter.send({ quiet: true })
    expect(failed).toMatchObject({ kind: 'failed', retryAt: now.getTime() + FIRST_RETRY_MS, held: false })
    expect(await reporter.send({ respectBackoff: true })).toMatchObject({ kind: 'waiting', pending: 1, held: false })
    expect(reports.reports).toHaveLength(1)
    now = new Date(now.getTime() + FIRST_RETRY_MS)
    expect(await reporter.send({ respectBackoff: true })).toMatchObject({ kind: 'sent', sent: 1 })
  })

  it("respects the broker's 429 Retry-After: nobody sends before it is over", async () => {
    const reporter = fleetReporter(app, config())
    await reporter.record(check, '2026.1.1')
    reports.script([{ status: 429, headers: { 'retry-after': '120' } }])
    expect(await reporter.send({ quiet: true })).toMatchObject({ kind: 'failed', held: true, retryAt: now.getTime() + 120_000 })
    await reporter.record(check, '2026.1.1')
    // Even right after a new event: held.
    expect(await reporter.send()).toMatchObject({ kind: 'waiting', held: true, pending: 2 })
    expect(reports.reports).toHaveLength(1)
    now = new Date(now.getTime() + 120_000)
    expect(await reporter.send()).toMatchObject({ kind: 'sent', sent: 2 })
  })

  it('drops events the broker refuses for good (422) and keeps the others', async () => {
    const reporter = fleetReporter(app, config())
    await reporter.record(check, '2026.1.1')
    reports.script([{ status: 422, body: { error: { code: 'invalid_request', message: 'product: this broker serves x, not cco' } } }])
    expect(await reporter.send({ quiet: true })).toMatchObject({ kind: 'sent', sent: 0, dropped: 1, pending: 0 })
  })

  it('keeps the queue and says why when there is no token; the token is never in a message', async () => {
    const reporter = fleetReporter(app, config({ token: undefined }))
    await reporter.record(check, '2026.1.1')
    expect(await reporter.send()).toMatchObject({ kind: 'no-token', pending: 1 })
    expect(app.out.stderr).toContain('there is no fleet token (set fleet.token or CCO_FLEET_TOKEN)')
    const withToken = fleetReporter(app, config())
    reports.script([{ status: 401, body: { error: { code: 'unauthorized', message: 'invalid fleet token' } } }])
    await withToken.send()
    expect(app.out.stderr).toContain('the broker refused the fleet token (HTTP 401 unauthorized: invalid fleet token')
    expect(app.out.stderr + app.out.stdout).not.toContain(TOKEN)
  })

  it('gives up on an answer that does not come within the timeout and keeps the events', async () => {
    const reporter = fleetReporter(app, config())
    await reporter.record(check, '2026.1.1')
    reports.script(['hang'])
    const started = Date.now()
    const r = await reporter.send({ quiet: true, timeoutMs: 500 })
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(r).toMatchObject({ kind: 'failed', pending: 1 })
    reports.release()
  })
})
