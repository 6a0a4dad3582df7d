// The FleetShard's SQLite schema and its migrations (documented in fleet/SCHEMA.md). Only
// shard.ts runs these statements; this file holds the DDL so that it can be read alone.

/** Each entry migrates from version i to i + 1; entries are never edited once released. */
export const FLEET_MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE hosts (
      host_id              TEXT PRIMARY KEY,
      shard_hash           INTEGER NOT NULL,
      name                 TEXT,
      labels               TEXT NOT NULL DEFAULT '{}',
      channel              TEXT NOT NULL,
      platform             TEXT,
      version              TEXT NOT NULL,
      version_key          TEXT NOT NULL,
      check_interval_s     INTEGER NOT NULL,
      first_seen           INTEGER NOT NULL,
      last_seen            INTEGER NOT NULL,
      stale_after          INTEGER NOT NULL,
      state_at             INTEGER NOT NULL,
      last_kind            TEXT,
      last_outcome         TEXT,
      last_event_at        INTEGER,
      failed_to            TEXT,
      failed_to_key        TEXT,
      failed_at            INTEGER,
      rolled_back_from     TEXT,
      rolled_back_from_key TEXT,
      rolled_back_at       INTEGER,
      bucket_of            TEXT,
      bucket               INTEGER,
      events_kept          INTEGER NOT NULL DEFAULT 0,
      recent_reports       TEXT NOT NULL DEFAULT '[]'
    )`,
    `CREATE INDEX hosts_channel_version ON hosts (channel, version_key)`,
    `CREATE INDEX hosts_stale_after ON hosts (stale_after)`,
    `CREATE INDEX hosts_last_seen ON hosts (last_seen)`,
    `CREATE TABLE host_labels (
      host_id TEXT NOT NULL,
      key     TEXT NOT NULL,
      value   TEXT NOT NULL,
      PRIMARY KEY (host_id, key)
    ) WITHOUT ROWID`,
    `CREATE INDEX host_labels_pair ON host_labels (key, value, host_id)`,
    `CREATE TABLE events (
      host_id      TEXT NOT NULL,
      id           TEXT NOT NULL,
      shard_hash   INTEGER NOT NULL,
      at           INTEGER NOT NULL,
      received_at  INTEGER NOT NULL,
      kind         TEXT NOT NULL,
      outcome      TEXT NOT NULL,
      from_version TEXT,
      from_key     TEXT,
      to_version   TEXT,
      to_key       TEXT,
      error_class  TEXT,
      exit_code    INTEGER,
      PRIMARY KEY (host_id, id)
    ) WITHOUT ROWID`,
    `CREATE INDEX events_at ON events (at, host_id, id)`,
    `CREATE INDEX events_to_key ON events (to_key) WHERE to_key IS NOT NULL`,
    `CREATE INDEX events_from_key ON events (from_key) WHERE from_key IS NOT NULL`,
  ],
  // 2: the newest successful install that reported its download (schema 2 reports), per host.
  [
    `ALTER TABLE hosts ADD COLUMN download_to_key TEXT`,
    `ALTER TABLE hosts ADD COLUMN download_at INTEGER`,
    `ALTER TABLE hosts ADD COLUMN download_bytes INTEGER`,
    `ALTER TABLE hosts ADD COLUMN download_differential INTEGER`,
    `ALTER TABLE hosts ADD COLUMN download_archive_bytes INTEGER`,
  ],
]

export const FLEET_SCHEMA_VERSION = FLEET_MIGRATIONS.length

export const FLEET_META_DDL = `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
