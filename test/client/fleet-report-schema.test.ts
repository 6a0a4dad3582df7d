// Report schema 2 on the host side: an install event carries what the install downloaded (from
// its Transfer; a failed install carries nothing), and a broker that does not know schema 2
// (an older one: `422 schema: must be 1`) gets the same events again as schema 1, without
// `download`, and keeps getting schema 1 for a day before the newest is tried again. The older
// broker here is a loopback server that takes exactly what a schema 1 broker takes.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FLEET_DOWNLOAD_MAX_BYTES, FleetReportSchema, type FleetReport } from '../../contract/fleet.ts'
import { main } from '../../client/src/main.ts'
import { installEvent } from '../../client/src/fleet/events.ts'
import { appendEvents, newEvent, queueFile, readQueue, type HostSnapshot } from '../../client/src/fleet/queue.ts'
import { buildReports } from '../../client/src/fleet/report-body.ts'
import { SCHEMA_FALLBACK_MS } from '../../client/src/fleet/retry.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { testApp } from '../support/app-context.ts'

const TOKEN = 'cco_fleet_schema_2b7e41'
const HOST_ID = '4b0e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f70'
const HOST: HostSnapshot = { version: '2026.11.3', channel: 'stable', platform: 'linux-x86_64', check_interval_s: 3600 }
const TRANSFER = { bytes: 912_345, differential: true, archiveBytes: 43_725_011 }
const DOWNLOAD = { bytes: 912_345, differential: true, archive_bytes: 43_725_011 }

describe('the install event', () => {
  it('carries what a successful install downloaded, as the contract spells it', () => {
    expect(installEvent('2026.11.2', '2026.11.3', undefined, TRANSFER)).toEqual({ kind: 'install', outcome: 'installed', from: '2026.11.2', to: '2026.11.3', download: DOWNLOAD })
    expect(installEvent('2026.11.2', '2026.11.3', undefined, { bytes: 43_725_011, differential: false, archiveBytes: 43_725_011 })?.download).toEqual({ bytes: 43_725_011, differential: false, archive_bytes: 43_725_011 })
  })

  it('carries no download when the install failed, when nothing says what it downloaded, or when the figures are no byte counts', () => {
    expect(installEvent('2026.11.2', '2026.11.3', new Error('boom'), TRANSFER)).not.toHaveProperty('download')
    expect(installEvent('2026.11.2', '2026.11.3')).not.toHaveProperty('download')
    for (const bad of [{ ...TRANSFER, bytes: -1 }, { ...TRANSFER, bytes: 1.5 }, { ...TRANSFER, archiveBytes: 0 }, { ...TRANSFER, bytes: Number.NaN }, { ...TRANSFER, bytes: FLEET_DOWNLOAD_MAX_BYTES + 1 }, { ...TRANSFER, archiveBytes: FLEET_DOWNLOAD_MAX_BYTES + 1 }]) {
      expect(installEvent('2026.11.2', '2026.11.3', undefined, bad)).toEqual({ kind: 'install', outcome: 'installed', from: '2026.11.2', to: '2026.11.3' })
    }
  })

  it('goes out in a schema 2 body with its download, and in a schema 1 body without it', () => {
    const queued = [{ event: newEvent(installEvent('2026.11.2', '2026.11.3', undefined, TRANSFER)!, new Date('2026-11-20T10:00:00Z')), host: HOST }]
    const identity = { product: 'cco', host_id: HOST_ID }
    const [v2] = buildReports(identity, queued).batches
    expect(v2!.body).toMatchObject({ schema: 2, events: [{ download: DOWNLOAD }] })
    const [v1] = buildReports(identity, queued, 1).batches
    expect(v1!.body.schema).toBe(1)
    expect(v1!.body.events[0]).not.toHaveProperty('download')
    expect(v1!.body.events[0]).toEqual({ ...queued[0]!.event, download: undefined })
    expect(FleetReportSchema.safeParse(JSON.parse(v1!.text)).success).toBe(true)
  })
})

interface Received {
  body: FleetReport
  status: number
}

/** A broker that knows only schema 1: it refuses schema 2 (and `download` in schema 1) as one would. */
async function olderBroker() {
  const received: Received[] = []
  let knows: 1 | 2 = 1
  let refusal: string | null = null
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FleetReport
      const refuse = (message: string) => ({ status: 422, answer: { error: { code: 'invalid_request', message } } })
      const at = body.events.findIndex((e) => 'download' in e)
      const out = refusal
        ? refuse(refusal)
        : body.schema > knows ? refuse(`schema: must be ${knows}`) : body.schema === 1 && at >= 0 ? refuse(`events.${at}: unknown field download`) : { status: 202, answer: { accepted: body.events.length, duplicates: 0 } }
      received.push({ body, status: out.status })
      res.writeHead(out.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(out.answer))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    /** Refuses every body with this message from now on. */
    refuseWith: (message: string) => {
      refusal = message
    },
    reset: () => {
      received.length = 0
      knows = 1
      refusal = null
    },
    /** The broker is upgraded: it takes schema 2 from now on. */
    upgrade: () => {
      knows = 2
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

describe('a broker that does not know schema 2', () => {
  let broker: Awaited<ReturnType<typeof olderBroker>>
  let h: CcoHome
  let now = new Date('2026-11-20T10:00:00.000Z')
  beforeAll(async () => {
    broker = await olderBroker()
  })
  afterAll(() => broker.close())
  beforeEach(() => {
    broker.reset()
    h = makeHome('cco-fleet-schema-')
    now = new Date('2026-11-20T10:00:00.000Z')
    mkdirSync(h.stateDir, { recursive: true })
    writeFileSync(`${h.stateDir}/host-id`, `${HOST_ID}\n`, { mode: 0o600 })
    mkdirSync(dirname(h.configFile), { recursive: true })
    writeFileSync(h.configFile, `[updates]\nserver = "${broker.url}"\n[fleet]\nreport = true\n`, { mode: 0o600 })
    return () => h.cleanup()
  })

  async function cco(args: string[]) {
    const app = testApp(h.home, { env: { CCO_FLEET_TOKEN: TOKEN }, version: '2026.11.3', clock: { now: () => now } })
    const code = await main(args, app)
    return { code, ...app.out }
  }
  const queueInstall = () => appendEvents(h.stateDir, [{ event: newEvent(installEvent('2026.11.2', '2026.11.3', undefined, TRANSFER)!, now), host: HOST }])
  const fallback = () => {
    const read = readQueue(queueFile(h.stateDir))
    return read.kind === 'ok' ? read.state.fallback : 'unreadable'
  }

  it('gets the same events again as schema 1, without download, and schema 1 for a day; then schema 2 again', async () => {
    await queueInstall()
    await appendEvents(h.stateDir, [{ event: newEvent({ kind: 'check', outcome: 'up-to-date' }, now), host: HOST }])
    const first = await cco(['fleet', 'report'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).not.toContain('refused')
    expect(broker.received.map((r) => [r.body.schema, r.status])).toEqual([
      [2, 422],
      [1, 202],
    ])
    const [refused, resent] = broker.received
    expect(refused!.body.events[0]!.download).toEqual(DOWNLOAD)
    expect(resent!.body.events.map((e) => e.id)).toEqual(refused!.body.events.map((e) => e.id))
    expect(resent!.body.events.every((e) => !('download' in e))).toBe(true)
    expect(readQueue(queueFile(h.stateDir))).toMatchObject({ kind: 'ok', state: { events: [] } })
    expect(fallback()).toEqual({ schema: 1, until: new Date(now.getTime() + SCHEMA_FALLBACK_MS).toISOString() })

    // The next run (another process) remembers it: straight to schema 1, and so does --dry-run.
    broker.received.length = 0
    now = new Date(now.getTime() + 60_000)
    await queueInstall()
    const dry = await cco(['fleet', 'report', '--dry-run'])
    expect((JSON.parse(dry.stdout) as FleetReport).schema).toBe(1)
    expect((await cco(['fleet', 'report'])).code).toBe(0)
    expect(broker.received.map((r) => [r.body.schema, r.status])).toEqual([[1, 202]])

    // A day later the newest is tried again; the broker has been upgraded meanwhile and takes it.
    broker.received.length = 0
    broker.upgrade()
    now = new Date(now.getTime() + SCHEMA_FALLBACK_MS)
    await queueInstall()
    expect((await cco(['fleet', 'report'])).code).toBe(0)
    expect(broker.received.map((r) => [r.body.schema, r.status])).toEqual([[2, 202]])
    expect(broker.received[0]!.body.events[0]!.download).toEqual(DOWNLOAD)
    expect(fallback()).toBeUndefined()
  })

  it('drops a body refused for another field, as before, without sending it again', async () => {
    broker.refuseWith('events.0.to: not a version')
    await queueInstall()
    const sent = await cco(['fleet', 'report'])
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toContain('1 event(s) that the broker will never accept were dropped')
    expect(broker.received.map((r) => [r.body.schema, r.status])).toEqual([[2, 422]])
    expect(readQueue(queueFile(h.stateDir))).toMatchObject({ kind: 'ok', state: { events: [] } })
    expect(fallback()).toBeUndefined()
  })
})
