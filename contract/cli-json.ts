// What `cco … --json` prints, command by command (client/README.md, "JSON output"): one
// document per run, snake_case keys, a top-level `schema` number. Strict objects: a key that is
// not written here (a camelCase spelling, a field someone forgot to document) fails the tests
// that read every command's output with these schemas. The broker's answers inside a release
// command's document are its `Served` readings (api.ts, fleet.ts), strict as well.
import * as z from 'zod/mini'
import { Served } from './api.ts'
import { FleetReportSchema, FleetServed } from './fleet.ts'

import { CLI_JSON_SCHEMA } from './cli-json-schema.ts'

export { CLI_JSON_SCHEMA }

const schema = z.literal(CLI_JSON_SCHEMA)
const int = z.int()
const time = z.string()
const orNull = <T extends z.ZodMiniType>(t: T) => z.nullable(t)
/** A document: the command's own fields next to `schema`. */
const doc = <S extends z.core.$ZodLooseShape>(shape: S) => z.strictObject({ schema, ...shape })

/** Any command, when it fails: the message printed on stderr and the exit code. */
export const ErrorJson = doc({ error: z.strictObject({ message: z.string(), exit_code: int }) })

export const VersionJson = doc({
  version: z.string(),
  channel: orNull(z.string()),
  server: orNull(z.string()),
  platform: z.string(),
  build: z.string(),
  install_path: z.string(),
  /** The package manager's upgrade command of a package-managed build, else null. */
  managed_by: orNull(z.string()),
  config_error: orNull(z.string()),
})

export const ConfigShowJson = doc({
  path: z.string(),
  exists: z.boolean(),
  updates: z.strictObject({
    enabled: z.boolean(),
    auto_install: z.boolean(),
    check_interval: z.string(),
    channel: z.string(),
    server: z.string(),
    last_check: orNull(time),
    last_update: orNull(time),
    window: z.array(z.string()),
  }),
  daemon: z.strictObject({ host: z.string(), port: int }),
  network: z.strictObject({
    proxy: orNull(z.string()),
    no_proxy: orNull(z.string()),
    ca_file: orNull(z.string()),
    environment: z.strictObject({ http_proxy: orNull(z.string()), https_proxy: orNull(z.string()), no_proxy: orNull(z.string()) }),
  }),
  trust: z.strictObject({ keys: z.array(z.strictObject({ kid: z.string(), source: z.enum(['config', 'built-in']) })) }),
  fleet: z.strictObject({
    report: z.boolean(),
    token: orNull(z.enum(['environment', 'config'])),
    name: orNull(z.string()),
    /** Label key → value: the keys are the user's, not field names. */
    labels: z.record(z.string(), z.string()),
  }),
})

export const ConfigGetJson = doc({ key: z.string(), value: z.string() })
export const ConfigSetJson = doc({ key: z.string(), value: z.string(), path: z.string() })
export const ConfigPathJson = doc({ path: z.string() })

/** A binary swap: `installed` of `cco update`, and `cco rollback`. */
const swap = {
  version: z.string(),
  previous_version: orNull(z.string()),
  install_path: z.string(),
  backup_path: orNull(z.string()),
}

export const UpdateJson = doc({
  status: z.enum(['up-to-date', 'available', 'no-asset', 'declined', 'changed', 'updated']),
  channel: z.string(),
  server: z.string(),
  seq: int,
  current_version: z.string(),
  latest_version: orNull(z.string()),
  decision: z.strictObject({ kind: z.string(), detail: z.string() }),
  notes: orNull(z.string()),
  notes_url: orNull(z.string()),
  installed: orNull(
    z.strictObject({
      ...swap,
      /** What the install downloaded: bytes over the network, whether it was differential, the archive's size. */
      download: z.strictObject({ bytes: int, differential: z.boolean(), archive_bytes: int }),
    }),
  ),
  maintenance_window: orNull(z.strictObject({ windows: z.array(z.string()), open_until: orNull(time), next_opening: time })),
  /** `cco update --version X`: what was asked for and what its signed statement said; null for a channel update. */
  pin: orNull(
    z.strictObject({
      requested_version: z.string(),
      version: z.string(),
      direction: z.enum(['upgrade', 'downgrade', 'same']),
      signed_by: z.string(),
      expires_at: time,
      daemon_next_version: orNull(z.string()),
      auto_install: z.boolean(),
    }),
  ),
})

export const RollbackJson = doc(swap)

export const FleetReportJson = z.union([
  doc({
    dry_run: z.literal(true),
    /** Exactly the bodies that would be posted (each with its own wire `schema`, contract/fleet.ts). */
    reports: z.array(FleetReportSchema),
    pending: int,
    unsendable: z.array(z.strictObject({ id: z.string(), reason: z.string() })),
  }),
  doc({ dry_run: z.literal(false), server: z.string(), sent: int, accepted: int, duplicates: int, dropped: int, pending: int }),
])

/** The daemon's `/health` answer as it was received (an HTTP answer, not a `--json` document: no `schema`). */
export const HealthBodyJson = z.strictObject({
  /** "ok", or "degraded" when update checks keep failing. */
  status: z.string(),
  version: z.string(),
  uptime_seconds: int,
  channel: z.string(),
  last_check: orNull(time),
  update_available: z.boolean(),
  latest_version: z.optional(orNull(z.string())),
  pid: z.optional(int),
  next_install_at: z.optional(time),
  /** Only while `status` is "degraded" (update checks keep failing): how many failed in a row, since when, the last error. */
  failed_checks: z.optional(int),
  failing_since: z.optional(time),
  last_error: z.optional(z.string()),
})

/** `cco health`: `healthy` is `status == "ok"` (a "degraded" daemon runs: exit 0, healthy false). */
export const HealthJson = doc({ healthy: z.boolean(), status: z.string(), url: z.string(), health: HealthBodyJson, raw: z.string() })

export const DaemonStatusJson = doc({
  running: z.boolean(),
  pid: orNull(int),
  host: z.string(),
  port: int,
  version: orNull(z.string()),
  started_at: orNull(time),
  uptime_seconds: orNull(int),
  healthy: orNull(z.boolean()),
  health: orNull(HealthBodyJson),
  problem: orNull(z.string()),
  supervisor: orNull(z.string()),
  log: z.string(),
  cleaned: orNull(z.string()),
  unconfirmed: orNull(z.string()),
})

const started = {
  pid: int,
  host: z.string(),
  port: int,
  version: z.string(),
  log: z.string(),
  started_in_ms: int,
  cleaned: orNull(z.string()),
}
const stopped = {
  was_running: z.boolean(),
  pid: orNull(int),
  how: orNull(z.enum(['terminated', 'killed', 'gone'])),
  cleaned: orNull(z.string()),
  supervisor: orNull(z.string()),
  hint: orNull(z.string()),
}
export const DaemonStartJson = doc(started)
export const DaemonStopJson = doc(stopped)
export const DaemonRestartJson = doc({ stopped: z.strictObject(stopped), started: z.strictObject(started) })
export const DaemonLogsJson = doc({ file: z.string(), exists: z.boolean(), lines: z.array(z.string()) })
export const DaemonInstallJson = doc({
  kind: z.enum(['systemd', 'launchd']),
  file: z.string(),
  binary: z.string(),
  replaced: z.boolean(),
  enable_command: z.string(),
  warnings: z.array(z.string()),
})
export const DaemonUninstallJson = doc({ kind: z.enum(['systemd', 'launchd']), file: z.string(), removed: z.boolean(), disable_command: z.string() })
export const DaemonWatchdogJson = z.union([
  doc({ outcome: z.literal('healthy'), version: z.string(), pid: orNull(int) }),
  doc({ outcome: z.literal('rolled-back'), version: z.string(), restarted: z.boolean(), problem: z.string() }),
  doc({ outcome: z.literal('failed'), problem: z.string() }),
])
/** `cco run --json`: printed when the foreground daemon stops. */
export const RunJson = doc({
  version: z.string(),
  pid: int,
  host: z.string(),
  port: int,
  stopped_by: z.enum(['signal', 'handover']),
  signal: orNull(z.string()),
  successor: orNull(z.strictObject({ pid: orNull(int), version: z.string() })),
})

// `cco release …`: the broker's answer with `schema` beside its fields (status and fleet add
// the broker's URL as `server`).
const answer = <S extends z.core.$ZodLooseShape>(o: { shape: S }) => doc(o.shape)
export const ReleaseStatusJson = doc({ server: z.string(), ...Served.ChannelList.shape, ...Served.ReleaseList.shape })
export const ReleaseChannelChangeJson = answer(Served.ChannelChange)
export const ReleaseYankJson = answer(Served.ReleaseChange)
export const ReleaseAuditJson = answer(Served.AuditPage)
export const ReleaseFleetJson = doc({ server: z.string(), ...FleetServed.FleetView.shape, stale_hosts: z.array(FleetServed.FleetHost) })
export const ReleaseFleetHostsJson = answer(FleetServed.FleetHostPage)
export const ReleaseFleetEventsJson = answer(FleetServed.FleetEventPage)

/** Every command that takes `--json`, by its path under `cco` (`release fleet` is the summary). */
export const CLI_JSON = {
  version: VersionJson,
  'config show': ConfigShowJson,
  'config get': ConfigGetJson,
  'config set': ConfigSetJson,
  'config path': ConfigPathJson,
  update: UpdateJson,
  rollback: RollbackJson,
  'fleet report': FleetReportJson,
  run: RunJson,
  health: HealthJson,
  'daemon start': DaemonStartJson,
  'daemon stop': DaemonStopJson,
  'daemon restart': DaemonRestartJson,
  'daemon status': DaemonStatusJson,
  'daemon logs': DaemonLogsJson,
  'daemon install': DaemonInstallJson,
  'daemon uninstall': DaemonUninstallJson,
  'daemon watchdog': DaemonWatchdogJson,
  'release status': ReleaseStatusJson,
  'release promote': ReleaseChannelChangeJson,
  'release rollout': ReleaseChannelChangeJson,
  'release halt': ReleaseChannelChangeJson,
  'release guard': ReleaseChannelChangeJson,
  'release resume': ReleaseChannelChangeJson,
  'release yank': ReleaseYankJson,
  'release unyank': ReleaseYankJson,
  'release audit': ReleaseAuditJson,
  'release fleet': ReleaseFleetJson,
  'release fleet hosts': ReleaseFleetHostsJson,
  'release fleet events': ReleaseFleetEventsJson,
} as const

export type CliJsonCommand = keyof typeof CLI_JSON
