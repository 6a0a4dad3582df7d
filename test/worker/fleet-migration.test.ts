// The fleet shard's storage migration 1 → 2 (the download columns of `hosts`): a host row written
// by the schema-1 code survives with every column, has no download recorded, and a schema 2
// report of the same host then records one that GET /v1/fleet adds up.
import { reset, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, expect, it } from 'vitest'
import { FleetServed } from '../../contract/fleet.ts'
import { FleetShard } from '../../worker/fleet/shard.ts'
import { FLEET_MIGRATIONS, FLEET_SCHEMA_VERSION } from '../../worker/fleet/schema.ts'
import { hostHash } from '../../worker/fleet/shards.ts'
import { expectedShard, fleetGet, postReport, report, shardStub, uuid } from './fleet-helpers.ts'
import { publish } from './helpers.ts'

afterEach(async () => {
  await reset()
})

it('migrates fleet schema 1 to 2 keeping every host row, with no download until one is reported', async () => {
  await publish('2026.11.1')
  const host = uuid()
  const shard = await expectedShard(host)
  const hash = await hostHash(host)
  await runInDurableObject(shardStub(shard), (_instance, state) => {
    const sql = state.storage.sql
    // Back to an empty object, then the schema-1 state as the previous code left it.
    for (const t of ['hosts', 'host_labels', 'events', 'meta']) sql.exec(`DROP TABLE IF EXISTS ${t}`)
    sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    for (const statement of FLEET_MIGRATIONS[0]!) sql.exec(statement)
    sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    const now = Date.now()
    sql.exec(
      `INSERT INTO hosts (host_id, shard_hash, labels, channel, platform, version, version_key, check_interval_s, first_seen, last_seen, stale_after, state_at, last_kind, last_outcome, last_event_at)
       VALUES (?, ?, '{}', 'beta', 'linux-x86_64', '2026.11.1', '2026.11.1', 3600, ?, ?, ?, ?, 'install', 'installed', ?)`,
      host, hash, now - 60_000, now - 60_000, now + 7_200_000, now - 60_000, now - 60_000,
    )

    new FleetShard(state, env)

    expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(FLEET_SCHEMA_VERSION))
    expect(FLEET_SCHEMA_VERSION).toBe(2)
    expect(sql.exec('SELECT host_id, version, last_outcome, download_to_key, download_bytes FROM hosts').toArray()).toEqual([
      { host_id: host, version: '2026.11.1', last_outcome: 'installed', download_to_key: null, download_bytes: null },
    ])
  })
  const before = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body).rollouts.find((r) => r.channel === 'beta')!
  expect(before).toMatchObject({ version: '2026.11.1', on_channel: 1, installed: 1, downloads: 0, saved_percent: null })

  const download = { bytes: 1_000, differential: true, archive_bytes: 10_000 }
  const r = await postReport(report(host, { schema: 2, channel: 'beta', version: '2026.11.1', events: [{ kind: 'install', outcome: 'installed', to: '2026.11.1', download }] }))
  expect(r.status).toBe(202)
  const after = FleetServed.FleetView.parse((await fleetGet('/v1/fleet')).body).rollouts.find((x) => x.channel === 'beta')!
  expect(after).toMatchObject({ on_channel: 1, downloads: 1, differential: 1, downloaded_bytes: 1_000, full_bytes: 10_000, saved_bytes: 9_000, saved_percent: 90 })
})
