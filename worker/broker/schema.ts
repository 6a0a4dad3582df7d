// The Durable Object's SQLite schema and its migrations (documented in SCHEMA.md). Only
// broker.ts runs these statements; this file holds the DDL so that it can be read alone.

/** Each entry migrates from version i to i + 1; entries are never edited once released. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE releases (
      version        TEXT PRIMARY KEY,
      tag            TEXT NOT NULL,
      github_id      INTEGER NOT NULL,
      prerelease     INTEGER NOT NULL DEFAULT 0,
      status         TEXT NOT NULL CHECK (status IN ('live', 'refused', 'pending', 'withdrawn')),
      reason         TEXT,
      notes          TEXT NOT NULL DEFAULT '',
      notes_url      TEXT,
      published_at   TEXT,
      first_seen_at  TEXT NOT NULL,
      updated_at     TEXT NOT NULL,
      assets         TEXT NOT NULL DEFAULT '{}',
      was_on_stable  INTEGER NOT NULL DEFAULT 0,
      source         TEXT NOT NULL,
      source_rev     INTEGER NOT NULL DEFAULT 1,
      fetch_name     TEXT,
      fetch_url      TEXT,
      fetch_attempts INTEGER NOT NULL DEFAULT 0,
      fetch_next_at  INTEGER,
      fetch_error    TEXT
    )`,
    // A GitHub release id belongs to at most one row that is not withdrawn; withdrawn rows keep
    // theirs as history (a release whose tag was changed leaves its old version behind).
    `CREATE UNIQUE INDEX releases_github_id ON releases (github_id) WHERE status != 'withdrawn'`,
    `CREATE INDEX releases_fetch_due ON releases (fetch_next_at) WHERE fetch_next_at IS NOT NULL`,
    `CREATE TABLE channels (
      name         TEXT PRIMARY KEY,
      version      TEXT,
      percent      INTEGER NOT NULL DEFAULT 100,
      halted       INTEGER NOT NULL DEFAULT 0,
      halt_reason  TEXT,
      seq          INTEGER NOT NULL DEFAULT 0,
      content_hash TEXT,
      signed       TEXT,
      etag         TEXT,
      kids         TEXT,
      issued_at    TEXT,
      expires_at   TEXT
    )`,
    `INSERT INTO channels (name) VALUES ('stable'), ('beta')`,
    `CREATE TABLE yanked (
      version TEXT PRIMARY KEY,
      reason  TEXT NOT NULL,
      at      TEXT NOT NULL
    )`,
    `CREATE TABLE deliveries (
      id          TEXT PRIMARY KEY,
      event       TEXT NOT NULL,
      action      TEXT,
      received_at TEXT NOT NULL,
      outcome     TEXT NOT NULL
    )`,
    `CREATE INDEX deliveries_received ON deliveries (received_at)`,
    `CREATE TABLE audit (
      id       INTEGER PRIMARY KEY AUTOINCREMENT,
      at       TEXT NOT NULL,
      actor    TEXT NOT NULL,
      action   TEXT NOT NULL,
      target   TEXT,
      delivery TEXT,
      detail   TEXT NOT NULL DEFAULT '{}'
    )`,
  ],
  // 1 → 2: the `mirroring` status (assets being copied into R2), the mirror job's columns and
  // `live_since`. SQLite cannot change a CHECK constraint in place, so `releases` is rebuilt
  // with every old column kept as it was.
  [
    `CREATE TABLE releases_v2 (
      version         TEXT PRIMARY KEY,
      tag             TEXT NOT NULL,
      github_id       INTEGER NOT NULL,
      prerelease      INTEGER NOT NULL DEFAULT 0,
      status          TEXT NOT NULL CHECK (status IN ('live', 'refused', 'pending', 'mirroring', 'withdrawn')),
      reason          TEXT,
      notes           TEXT NOT NULL DEFAULT '',
      notes_url       TEXT,
      published_at    TEXT,
      first_seen_at   TEXT NOT NULL,
      updated_at      TEXT NOT NULL,
      assets          TEXT NOT NULL DEFAULT '{}',
      was_on_stable   INTEGER NOT NULL DEFAULT 0,
      source          TEXT NOT NULL,
      source_rev      INTEGER NOT NULL DEFAULT 1,
      fetch_name      TEXT,
      fetch_url       TEXT,
      fetch_attempts  INTEGER NOT NULL DEFAULT 0,
      fetch_next_at   INTEGER,
      fetch_error     TEXT,
      live_since      TEXT,
      mirror_content  TEXT,
      mirror_attempts INTEGER NOT NULL DEFAULT 0,
      mirror_next_at  INTEGER,
      mirror_error    TEXT
    )`,
    // A release live before this migration has soaked since it was first seen, at the latest.
    `INSERT INTO releases_v2 (version, tag, github_id, prerelease, status, reason, notes, notes_url, published_at, first_seen_at,
       updated_at, assets, was_on_stable, source, source_rev, fetch_name, fetch_url, fetch_attempts, fetch_next_at, fetch_error, live_since)
     SELECT version, tag, github_id, prerelease, status, reason, notes, notes_url, published_at, first_seen_at,
       updated_at, assets, was_on_stable, source, source_rev, fetch_name, fetch_url, fetch_attempts, fetch_next_at, fetch_error,
       CASE WHEN status = 'live' THEN first_seen_at END
     FROM releases`,
    `DROP TABLE releases`,
    `ALTER TABLE releases_v2 RENAME TO releases`,
    `CREATE UNIQUE INDEX releases_github_id ON releases (github_id) WHERE status != 'withdrawn'`,
    `CREATE INDEX releases_fetch_due ON releases (fetch_next_at) WHERE fetch_next_at IS NOT NULL`,
    `CREATE INDEX releases_mirror_due ON releases (mirror_next_at) WHERE mirror_next_at IS NOT NULL`,
  ],
  // 2 → 3: the sha256 of each processed delivery's body. The webhook signature does not cover
  // X-GitHub-Delivery, so a signed body replayed under a new id is recognised by its hash.
  // Rows recorded before this migration have none (NULL).
  [
    `ALTER TABLE deliveries ADD COLUMN body_sha256 TEXT`,
    `CREATE INDEX deliveries_body ON deliveries (body_sha256) WHERE body_sha256 IS NOT NULL`,
  ],
  // 3 → 4: each release row's version identity (contract/version.ts `versionIdentity`: equal
  // for every spelling that compares equal, `1.0.0` = `v1.0` = `1.0.0+rebuild`), so that every
  // lookup finds a version by identity. broker.ts fills it for the rows already recorded, in
  // the same transaction (SQL cannot compute it).
  [
    `ALTER TABLE releases ADD COLUMN version_key TEXT`,
    `CREATE INDEX releases_version_key ON releases (version_key)`,
  ],
  // 4 → 5: each channel's failure guard (worker/policy/guard.ts): its thresholds, the time
  // from which failures count (the version's arrival on the channel or the last resume; 0 for
  // rows migrated: every failure of the current version within the fleet's retention counts),
  // and who halted the rollout (`auto-halt` or the admin's actor); and its scheduled ramp
  // (worker/policy/ramp.ts; JSON) with the time its next step is due (the alarm's).
  [
    `ALTER TABLE channels ADD COLUMN guard_min_failures INTEGER NOT NULL DEFAULT 3`,
    `ALTER TABLE channels ADD COLUMN guard_min_failure_percent REAL NOT NULL DEFAULT 5`,
    `ALTER TABLE channels ADD COLUMN guard_epoch INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE channels ADD COLUMN halted_by TEXT`,
    `ALTER TABLE channels ADD COLUMN ramp TEXT`,
    `ALTER TABLE channels ADD COLUMN ramp_next_at INTEGER`,
    // When a rollout that reached 100 % is checked for failures, to be announced as complete.
    `ALTER TABLE channels ADD COLUMN settle_at INTEGER`,
    // The outbox of outgoing notifications (worker/policy/notify.ts): one row per message and
    // receiver, written in the same transaction as the change, sent by the alarm.
    `CREATE TABLE notifications (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      url        TEXT NOT NULL,
      event      TEXT NOT NULL,
      body       TEXT NOT NULL,
      attempts   INTEGER NOT NULL DEFAULT 0,
      next_at    INTEGER NOT NULL,
      last_error TEXT,
      created_at TEXT NOT NULL
    )`,
    `CREATE INDEX notifications_due ON notifications (next_at)`,
  ],
]

export const SCHEMA_VERSION = MIGRATIONS.length

export const META_DDL = `CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
