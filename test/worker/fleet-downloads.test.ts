// What updates downloaded, through the real Worker: schema 2 reports whose install events carry
// `download`, the rollout's figures in GET /v1/fleet (downloads, differential, bytes, what full
// downloads would have cost, the saving), schema 1 taken exactly as before, `download` refused
// where the contract has no place for it (nothing stored, checked in the shards' own storage),
// and retries that add nothing twice.
import { reset } from 'cloudflare:test'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FLEET_DOWNLOAD_MAX_BYTES, FleetServed, type FleetDownload, type FleetReport } from '../../contract/fleet.ts'
import { NO_DOWNLOADS, fleetGet, postAll, postReport, report, storedTotals, uuid } from './fleet-helpers.ts'
import { publish } from './helpers.ts'

afterEach(async () => {
  await reset()
})

const NOTHING = { hosts: 0, events: 0, labels: 0 }
const V = '2026.11.2'
const ARCHIVE = 41_700_000

beforeEach(async () => {
  // A published release is beta's version (at 100 %).
  await publish('2026.11.1')
  await publish(V)
})

type EventInput = Partial<FleetReport['events'][number]>
const installed = (to: string, download?: FleetDownload): EventInput => ({ kind: 'install', outcome: 'installed', from: '2026.11.1', to, ...(download ? { download } : {}) })
const differential = (bytes: number): FleetDownload => ({ bytes, differential: true, archive_bytes: ARCHIVE })
const full = (bytes = ARCHIVE): FleetDownload => ({ bytes, differential: false, archive_bytes: ARCHIVE })

/** A schema 2 report from a new host on beta that runs `running`. */
const v2 = (events: EventInput[], o: Partial<Omit<FleetReport, 'events'>> = {}) => report(uuid(), { schema: 2, channel: 'beta', version: V, events, ...o })

async function betaRollout() {
  const view = await fleetGet('/v1/fleet')
  expect(view.status).toBe(200)
  return FleetServed.FleetView.parse(view.body).rollouts.find((r) => r.channel === 'beta')!
}

describe('download figures of a rollout', () => {
  it('adds up what the hosts that moved to the channel\'s version downloaded, and what that saved', async () => {
    const reports = [
      v2([installed(V, differential(900_000))]),
      v2([installed(V, differential(1_100_000))]),
      v2([installed(V, differential(700_000))]),
      // A fallback: the block map and a few ranges, then the whole archive.
      v2([installed(V, full(ARCHIVE + 300_000))]),
      // Not counted: a schema 1 install (no download), a download to another version, a failed
      // install, a check, and a host on another channel.
      report(uuid(), { channel: 'beta', version: V, events: [installed(V)] }),
      v2([installed('2026.11.1', differential(5_000))], { version: '2026.11.1' }),
      v2([{ kind: 'install', outcome: 'failed', to: V, error_class: 'checksum', download: full() }], { version: '2026.11.1' }),
      v2([{ kind: 'check', outcome: 'up-to-date' }]),
      v2([installed(V, differential(1))], { channel: 'stable' }),
    ]
    for (const r of reports) expect((await postReport(r)).status).toBe(202)

    const downloaded = 900_000 + 1_100_000 + 700_000 + ARCHIVE + 300_000
    const fullBytes = 4 * ARCHIVE
    expect(await betaRollout()).toMatchObject({
      version: V,
      on_channel: 8,
      installed: 6,
      downloads: 4,
      differential: 3,
      downloaded_bytes: downloaded,
      full_bytes: fullBytes,
      saved_bytes: fullBytes - downloaded,
      saved_percent: Math.round(((fullBytes - downloaded) / fullBytes) * 1000) / 10,
    })
    expect((await betaRollout()).saved_percent).toBe(73.2)
  })

  it('adds up figures at the cap from many hosts into safe integers', async () => {
    // The cap is what keeps a fleet's sums exact: a million hosts at it stay below 2^53.
    expect(FLEET_DOWNLOAD_MAX_BYTES * 1_000_000).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER)
    const most = { bytes: FLEET_DOWNLOAD_MAX_BYTES, differential: false, archive_bytes: FLEET_DOWNLOAD_MAX_BYTES }
    for (let i = 0; i < 3; i++) expect((await postReport(v2([installed(V, most)]))).status).toBe(202)
    expect(await betaRollout()).toMatchObject({ downloads: 3, downloaded_bytes: 3 * FLEET_DOWNLOAD_MAX_BYTES, full_bytes: 3 * FLEET_DOWNLOAD_MAX_BYTES, saved_bytes: 0 })
  })

  it('shows no saving (null percent) while no host has reported a download', async () => {
    await postAll([report(uuid(), { channel: 'beta', version: V, events: [installed(V)] })])
    expect(await betaRollout()).toMatchObject({ installed: 1, ...NO_DOWNLOADS })
  })

  it('counts a host once: a retried report, an event sent again, or a late older install change nothing', async () => {
    const host = uuid()
    const first = report(host, { schema: 2, channel: 'beta', version: V, events: [installed(V, differential(800_000))] })
    expect((await postReport(first)).body).toEqual({ accepted: 1, duplicates: 0 })
    expect((await postReport(first)).body).toEqual({ accepted: 0, duplicates: 1 })
    const again = report(host, { schema: 2, channel: 'beta', version: V, events: [{}] })
    again.events.unshift(first.events[0]!)
    expect((await postReport(again)).body).toEqual({ accepted: 1, duplicates: 1 })
    const once = { downloads: 1, differential: 1, downloaded_bytes: 800_000, full_bytes: ARCHIVE }
    expect(await betaRollout()).toMatchObject(once)

    // An install of the same version reported from before the recorded one (a late retry).
    const late = report(host, { schema: 2, channel: 'beta', version: V, events: [{ ...installed(V, full()), at: new Date(Date.parse(first.events[0]!.at) - 60_000).toISOString() }] })
    expect((await postReport(late)).body).toEqual({ accepted: 1, duplicates: 0 })
    expect(await betaRollout()).toMatchObject(once)

    // A newer install by the same host replaces its figure (the host is still one download).
    expect((await postReport(report(host, { schema: 2, channel: 'beta', version: V, events: [installed(V, full())] }))).status).toBe(202)
    expect(await betaRollout()).toMatchObject({ downloads: 1, differential: 0, downloaded_bytes: ARCHIVE, full_bytes: ARCHIVE, saved_bytes: 0, saved_percent: 0 })
  })
})

describe('report schemas', () => {
  it('takes schema 1 exactly as before', async () => {
    const r = await postReport(report(uuid(), { channel: 'beta', version: V, events: [installed(V), {}] }))
    expect(r.status).toBe(202)
    expect(r.body).toEqual({ accepted: 2, duplicates: 0 })
    expect(await storedTotals()).toEqual({ hosts: 1, events: 2, labels: 0 })
  })

  it('refuses `download` where the contract has no place for it (422, nothing stored)', async () => {
    const refusals: [FleetReport, string][] = [
      // Schema 1 has no such field: refused in the words of any unknown field.
      [report(uuid(), { events: [installed(V, differential(1))] }), 'events.0: unknown field download'],
      [v2([{ kind: 'check', outcome: 'up-to-date', download: differential(1) }]), 'events.0.download: only an install event carries a download'],
      [v2([{}, { kind: 'rollback', outcome: 'rolled-back', from: V, to: '2026.11.1', download: full() }]), 'events.1.download: only an install event carries a download'],
      [v2([installed(V, { bytes: 1, differential: true, archive_bytes: 0 })]), 'events.0.download.archive_bytes: archive_bytes must be at least 1'],
      [v2([installed(V, { bytes: -1, differential: true, archive_bytes: 1 })]), 'events.0.download.bytes: bytes must be at least 0'],
      [v2([installed(V, { bytes: 1.5, differential: true, archive_bytes: 1 })]), 'events.0.download.bytes: bytes must be an integer'],
      // Past what an install can download: added up over a fleet, such figures would leave the
      // safe integers (and SQLite's 64 bits) and break the fleet view for everyone.
      [v2([installed(V, { bytes: FLEET_DOWNLOAD_MAX_BYTES + 1, differential: true, archive_bytes: 1 })]), `events.0.download.bytes: bytes must be at most ${FLEET_DOWNLOAD_MAX_BYTES}`],
      [v2([installed(V, { bytes: 1, differential: true, archive_bytes: Number.MAX_SAFE_INTEGER })]), `events.0.download.archive_bytes: archive_bytes must be at most ${FLEET_DOWNLOAD_MAX_BYTES}`],
      [v2([installed(V, { bytes: 1, differential: 'yes', archive_bytes: 1 } as never)]), 'events.0.download.differential: must be true or false'],
      [v2([installed(V, { ...differential(1), ratio: 1 } as never)]), 'events.0.download: unknown field ratio'],
      [{ ...v2([{}]), schema: 3 as never }, 'schema: must be 1 or 2'],
    ]
    for (const [body, message] of refusals) {
      const r = await postReport(body)
      expect(r.status, message).toBe(422)
      expect(r.body, message).toEqual({ error: { code: 'invalid_request', message } })
    }
    expect(await storedTotals()).toEqual(NOTHING)
  })
})
