// The storage migrations: from schema 1 to 2 (the `mirroring` status needs the releases table
// rebuilt) rows written by the schema-1 code survive unchanged, live ones get `live_since`;
// from 2 to 3 (the body hash of each delivery) every delivery row survives; from 3 to 4 every
// release row gets its version identity, and twins recorded before (two spellings of one
// version, live side by side) are found, yanked and unyanked together.
import { runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { Broker } from '../../worker/broker/broker.ts'
import { MIGRATIONS, SCHEMA_VERSION } from '../../worker/broker/schema.ts'

it('migrates schema 1 to 2 keeping every release row, its columns and the channels', async () => {
  const stub = env.BROKER.get(env.BROKER.idFromName('migration-test'))
  await runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql
    // Back to an empty object, then the schema-1 state as the previous code left it.
    for (const t of ['releases', 'channels', 'yanked', 'deliveries', 'audit', 'notifications', 'meta']) sql.exec(`DROP TABLE IF EXISTS ${t}`)
    sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    for (const statement of MIGRATIONS[0]!) sql.exec(statement)
    sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    const insert = `INSERT INTO releases (version, tag, github_id, prerelease, status, reason, notes, published_at, first_seen_at, updated_at, assets, was_on_stable, source, source_rev, fetch_name, fetch_url, fetch_next_at)
      VALUES (?, ?, ?, 0, ?, NULL, 'notes', '2026-11-01T00:00:00Z', ?, '2026-11-02T00:00:00Z', '{}', ?, '{"id":1}', 3, ?, ?, ?)`
    sql.exec(insert, '2026.11.1', 'v2026.11.1', 11, 'live', '2026-11-01T10:00:00Z', 1, null, null, null)
    sql.exec(insert, '2026.11.2', 'v2026.11.2', 12, 'pending', '2026-11-03T10:00:00Z', 0, 'checksums.txt', 'https://github.com/x', 1234)
    sql.exec("UPDATE channels SET version = '2026.11.1', seq = 7 WHERE name = 'stable'")

    new Broker(state, env)

    expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(SCHEMA_VERSION))
    const rows = sql.exec('SELECT version, status, was_on_stable, source_rev, fetch_name, fetch_next_at, live_since, mirror_content FROM releases ORDER BY version').toArray()
    expect(rows).toEqual([
      { version: '2026.11.1', status: 'live', was_on_stable: 1, source_rev: 3, fetch_name: null, fetch_next_at: null, live_since: '2026-11-01T10:00:00Z', mirror_content: null },
      { version: '2026.11.2', status: 'pending', was_on_stable: 0, source_rev: 3, fetch_name: 'checksums.txt', fetch_next_at: 1234, live_since: null, mirror_content: null },
    ])
    expect(sql.exec("SELECT version, seq FROM channels WHERE name = 'stable'").one()).toEqual({ version: '2026.11.1', seq: 7 })
    // The new status is accepted, the unique index on GitHub ids still holds.
    sql.exec("UPDATE releases SET status = 'mirroring' WHERE version = '2026.11.2'")
    expect(() => sql.exec("UPDATE releases SET github_id = 11 WHERE version = '2026.11.2'")).toThrow()
  })
})

it('migrates schema 2 to 3 keeping every delivery row (no body hash) and every release', async () => {
  const stub = env.BROKER.get(env.BROKER.idFromName('migration-test-3'))
  await runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql
    for (const t of ['releases', 'channels', 'yanked', 'deliveries', 'audit', 'notifications', 'meta']) sql.exec(`DROP TABLE IF EXISTS ${t}`)
    sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    for (const statement of [...MIGRATIONS[0]!, ...MIGRATIONS[1]!]) sql.exec(statement)
    sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
    sql.exec(`INSERT INTO releases (version, tag, github_id, status, first_seen_at, updated_at, source, live_since)
      VALUES ('2026.11.1', 'v2026.11.1', 11, 'live', '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', '{"id":11}', '2026-11-01T10:00:00Z')`)
    const delivery = 'INSERT INTO deliveries (id, event, action, received_at, outcome) VALUES (?, ?, ?, ?, ?)'
    sql.exec(delivery, 'd-1', 'release', 'published', '2026-11-01T10:00:00Z', 'published')
    sql.exec(delivery, 'd-2', 'release', 'edited', '2026-11-02T10:00:00Z', 'refused')

    new Broker(state, env)

    expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(SCHEMA_VERSION))
    expect(sql.exec('SELECT * FROM deliveries ORDER BY id').toArray()).toEqual([
      { id: 'd-1', event: 'release', action: 'published', received_at: '2026-11-01T10:00:00Z', outcome: 'published', body_sha256: null },
      { id: 'd-2', event: 'release', action: 'edited', received_at: '2026-11-02T10:00:00Z', outcome: 'refused', body_sha256: null },
    ])
    expect(sql.exec('SELECT version, status, live_since FROM releases').toArray()).toEqual([{ version: '2026.11.1', status: 'live', live_since: '2026-11-01T10:00:00Z' }])
    // The index that answers "was this body processed?" exists.
    expect(sql.exec("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' ORDER BY name").toArray().map((r) => r.name)).toContain('deliveries_body')
  })
})

it('migrates schema 3 to 4: every row gets its version identity, and older twins are one version', async () => {
  const stub = env.BROKER.get(env.BROKER.idFromName('migration-test-4'))
  await runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql
    for (const t of ['releases', 'channels', 'yanked', 'deliveries', 'audit', 'notifications', 'meta']) sql.exec(`DROP TABLE IF EXISTS ${t}`)
    sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    for (const statement of MIGRATIONS.slice(0, 3).flat()) sql.exec(statement)
    sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '3')")
    const insert = `INSERT INTO releases (version, tag, github_id, status, published_at, first_seen_at, updated_at, source, live_since)
      VALUES (?, ?, ?, ?, '2026-11-01T10:00:00Z', '2026-11-01T10:00:00Z', ?, '{"id":1}', '2026-11-01T10:00:00Z')`
    // Twins the older code let through, a lower version, and a refused tag that is no version.
    sql.exec(insert, '1.0.0', 'v1.0.0', 11, 'live', '2026-11-01T10:00:00Z')
    sql.exec(insert, '1.0+rebuild', 'v1.0+rebuild', 12, 'live', '2026-11-02T10:00:00Z')
    sql.exec(insert, '0.9.0', 'v0.9.0', 9, 'live', '2026-11-01T10:00:00Z')
    sql.exec(insert, 'nightly', 'nightly', 13, 'refused', '2026-11-01T10:00:00Z')

    const broker = new Broker(state, env)

    expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(SCHEMA_VERSION))
    expect(sql.exec('SELECT version, version_key FROM releases ORDER BY version').toArray()).toEqual([
      { version: '0.9.0', version_key: '0.9' },
      { version: '1.0+rebuild', version_key: '1' },
      { version: '1.0.0', version_key: '1' },
      { version: 'nightly', version_key: '#nightly' },
    ])
    expect(broker.getRelease('v1.0')?.github_id).toBeTypeOf('number')
    expect(broker.getRelease('nightly')?.status).toBe('refused')
    // A yank of either spelling takes both twins off beta; the unyank brings the version back.
    const actor = { name: 'token:test', detail: {} }
    const yank = await broker.yank('01.0', { reason: 'twins' }, actor)
    expect(yank).toMatchObject({ ok: true })
    expect(broker.channelStates().find((c) => c.channel === 'beta')?.version).toBe('0.9.0')
    expect(await broker.yank('1.0.0+other', { reason: 'again' }, actor)).toMatchObject({ ok: false, status: 409 })
    expect(await broker.unyank('1.0.0', actor)).toMatchObject({ ok: true })
    expect(sql.exec('SELECT COUNT(*) AS n FROM yanked').one().n).toBe(0)
    expect(['1.0.0', '1.0+rebuild']).toContain(broker.channelStates().find((c) => c.channel === 'beta')?.version)
  })
})

it('migrates schema 4 to 5: channels keep their rollout and get the default failure guard, no ramp, an empty outbox', async () => {
  const stub = env.BROKER.get(env.BROKER.idFromName('migration-test-5'))
  await runInDurableObject(stub, async (_instance, state) => {
    const sql = state.storage.sql
    for (const t of ['releases', 'channels', 'yanked', 'deliveries', 'audit', 'notifications', 'meta']) sql.exec(`DROP TABLE IF EXISTS ${t}`)
    sql.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    for (const statement of MIGRATIONS.slice(0, 4).flat()) sql.exec(statement)
    sql.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '4')")
    sql.exec("UPDATE channels SET version = '2026.11.1', percent = 25, halted = 1, halt_reason = 'crash loop', seq = 9 WHERE name = 'stable'")

    const broker = new Broker(state, env)

    expect(sql.exec("SELECT value FROM meta WHERE key = 'schema_version'").one().value).toBe(String(SCHEMA_VERSION))
    expect(broker.channelStates().find((c) => c.channel === 'stable')).toMatchObject({
      version: '2026.11.1',
      seq: 9,
      rollout: { percent: 25, halted: true, reason: 'crash loop', halted_by: null },
      guard: { min_failures: 3, min_failure_percent: 5 },
      ramp: null,
    })
    expect(sql.exec('SELECT COUNT(*) AS n FROM notifications').one().n).toBe(0)
  })
})
