// Fleet reports (contract/README.md, "Fleet reports"): the body an opted-in host posts to
// `POST /v1/reports` after its checks, installs, rollbacks and health verdicts, and the answers
// of the fleet views (`GET /v1/fleet`, `/v1/fleet/hosts`, `/v1/fleet/events`) that `cco` reads.
//
// A report is strict: a host sends exactly these fields, and a newer client that must send more
// says so with a new `schema` number. It carries no IP address, user name, path or hostname:
// `name` and `labels` are what the host's owner chose to send.

import * as z from 'zod/mini'
import { CHANNELS } from './manifest.ts'
import { PLATFORMS } from './platform.ts'
import { isVersion } from './version.ts'
import { readingOf, type Reading } from './readings.ts'

/**
 * The report body's version; a change a broker cannot read gets a new number. 2: install events
 * may carry `download`. A broker takes every number it knows (FLEET_REPORT_SCHEMAS); a client
 * sends the highest one, and 1 again to a broker that refuses 2 (`422 body.schema: …`).
 */
export const FLEET_REPORT_SCHEMA_VERSION = 2
export const FLEET_REPORT_SCHEMAS = [1, 2] as const
export type FleetReportSchemaVersion = (typeof FLEET_REPORT_SCHEMAS)[number]
/** A report body is at most this many bytes (UTF-8); larger ones are refused (413) unread. */
export const FLEET_REPORT_MAX_BYTES = 16 * 1024
/** Events per report; a host with more sends them in several reports. */
export const FLEET_REPORT_MAX_EVENTS = 50
export const FLEET_LABELS_MAX = 16
/** The shortest check interval a host reports (a host that checks more often says 60). */
export const FLEET_MIN_CHECK_INTERVAL_S = 60
export const FLEET_MAX_CHECK_INTERVAL_S = 365 * 86_400

export const EVENT_KINDS = ['check', 'install', 'rollback', 'health'] as const
export type EventKind = (typeof EVENT_KINDS)[number]
export const EVENT_OUTCOMES = ['up-to-date', 'available', 'not-in-rollout', 'halted', 'no-asset', 'installed', 'rolled-back', 'failed', 'healthy', 'unhealthy'] as const
export type EventOutcome = (typeof EVENT_OUTCOMES)[number]

/** The outcomes each kind of event can have. */
export const OUTCOMES_OF: Readonly<Record<EventKind, readonly EventOutcome[]>> = {
  /** `available`: a newer release is for this host and was not installed (`--check`, declined, `auto_install = false`). */
  check: ['up-to-date', 'available', 'not-in-rollout', 'halted', 'no-asset', 'failed'],
  install: ['installed', 'failed'],
  rollback: ['rolled-back', 'failed'],
  health: ['healthy', 'unhealthy'],
}

/** A random UUID in its canonical lowercase form (`crypto.randomUUID()`), as hosts store theirs. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
export const LABEL_KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/
// Printable text: no control (Cc), format (Cf: bidi overrides, zero-width), line/paragraph
// separator, private-use or surrogate code point (with the u flag, an unpaired surrogate is Cs).
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}]*$/u
const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
// The running version as `cco --version` prints it; a development build may print no version.
const RUNNING_VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$/
const ERROR_CLASS_PATTERN = /^[a-z0-9_.-]{1,64}$/

const LABEL_KEY_RULE = 'a label key is 1–32 of a-z, 0-9, _ . - (starting with a letter or digit)'

const Uuid = (what: string) => z.string().check(z.regex(UUID_PATTERN, `must be ${what} (a lowercase UUID)`))
const VersionText = z.string().check(z.refine(isVersion, 'not a version'))
const LabelValue = z.string().check(
  z.minLength(1, 'a label value is 1–64 characters'),
  z.maxLength(64, 'a label value is 1–64 characters'),
  z.regex(PRINTABLE, 'a label value must be printable (no control or format characters)'),
)

const count = (what: string, min: number) => z.int(`${what} must be an integer`).check(z.minimum(min, `${what} must be at least ${min}`))

/**
 * Most bytes a report's `download` may state, for `bytes` and for `archive_bytes`: 4 GiB, eight
 * times the largest binary an archive may hold (512 MiB). It keeps a rollout's sums exact: a
 * million hosts at the cap add up to 2^52, below 2^53 (and SQLite's 64-bit SUM).
 */
export const FLEET_DOWNLOAD_MAX_BYTES = 4 * 1024 * 1024 * 1024

/**
 * What an install downloaded (schema 2, install events only): the bytes that crossed the network
 * (block map and chunk ranges, or the whole archive, every attempt included), whether the binary
 * was reassembled from chunks, and the archive's size (what a full download costs).
 */
const downloadBytes = (what: string, min: number) => count(what, min).check(z.maximum(FLEET_DOWNLOAD_MAX_BYTES, `${what} must be at most ${FLEET_DOWNLOAD_MAX_BYTES}`))
export const FleetDownloadSchema = z.strictObject({
  bytes: downloadBytes('bytes', 0),
  differential: z.boolean('must be true or false'),
  archive_bytes: downloadBytes('archive_bytes', 1),
})
export type FleetDownload = z.infer<typeof FleetDownloadSchema>

/** One thing that happened on the host. `id` is the host's own random id of it (retries dedupe on it). */
export const FleetEventSchema = z
  .strictObject({
    id: Uuid('a random event id'),
    at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time with a zone (2026-11-20T10:00:00Z)' }),
    kind: z.enum(EVENT_KINDS, `must be one of ${EVENT_KINDS.join(', ')}`),
    outcome: z.enum(EVENT_OUTCOMES, `must be one of ${EVENT_OUTCOMES.join(', ')}`),
    /** install: the version it replaced; rollback: the version it left (required). */
    from: z.optional(VersionText),
    /** install: the version installed or tried (required); rollback: the version restored. */
    to: z.optional(VersionText),
    error_class: z.optional(z.string().check(z.regex(ERROR_CLASS_PATTERN, 'must be 1–64 of a-z, 0-9, _ . -'))),
    exit_code: z.optional(z.int().check(z.minimum(-2147483648, 'must be a 32-bit exit code'), z.maximum(4294967295, 'must be a 32-bit exit code'))),
    /** install (schema 2): what the install downloaded. */
    download: z.optional(FleetDownloadSchema),
  })
  .check(
    z.superRefine((e, ctx) => {
      if (!OUTCOMES_OF[e.kind].includes(e.outcome)) {
        ctx.issues.push({ code: 'custom', input: e.outcome, path: ['outcome'], message: `the outcome of ${e.kind} events is one of ${OUTCOMES_OF[e.kind].join(', ')}` })
      }
      if (e.kind === 'install' && e.to === undefined) ctx.issues.push({ code: 'custom', input: e, path: ['to'], message: 'required for an install event' })
      if (e.outcome === 'available' && e.to === undefined) ctx.issues.push({ code: 'custom', input: e, path: ['to'], message: 'required for an available release' })
      if (e.kind === 'rollback' && e.from === undefined) ctx.issues.push({ code: 'custom', input: e, path: ['from'], message: 'required for a rollback event' })
      if (e.download !== undefined && e.kind !== 'install') ctx.issues.push({ code: 'custom', input: e.download, path: ['download'], message: 'only an install event carries a download' })
    }),
  )
export type FleetEvent = z.infer<typeof FleetEventSchema>

/** `POST /v1/reports`: the host's state now and what happened since its last accepted report. */
export const FleetReportSchema = z.strictObject({
  schema: z.union(FLEET_REPORT_SCHEMAS.map((n) => z.literal(n)), `must be ${FLEET_REPORT_SCHEMAS.join(' or ')}`),
  product: z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a product name')),
  host_id: Uuid('the host id'),
  name: z.optional(z.string().check(z.regex(NAME_PATTERN, 'must be 1–64 of A-Z, a-z, 0-9, . _ -'))),
  labels: z.optional(
    z
      .record(z.string().check(z.regex(LABEL_KEY_PATTERN)), LabelValue, { error: (issue) => (issue.code === 'invalid_key' ? LABEL_KEY_RULE : undefined) })
      .check(z.refine((labels) => Object.keys(labels).length <= FLEET_LABELS_MAX, `at most ${FLEET_LABELS_MAX} labels`)),
  ),
  channel: z.enum(CHANNELS, `must be one of ${CHANNELS.join(', ')}`),
  platform: z.nullable(z.enum(PLATFORMS, `must be one of ${PLATFORMS.join(', ')} or null`)),
  version: z.string().check(z.regex(RUNNING_VERSION_PATTERN, 'must be the running version (1–128 of 0-9, A-Z, a-z, . + _ -)')),
  check_interval_s: z.int().check(
    z.minimum(FLEET_MIN_CHECK_INTERVAL_S, `must be at least ${FLEET_MIN_CHECK_INTERVAL_S}`),
    z.maximum(FLEET_MAX_CHECK_INTERVAL_S, `must be at most ${FLEET_MAX_CHECK_INTERVAL_S}`),
  ),
  events: z.array(FleetEventSchema).check(
    z.minLength(1, 'a report has at least one event'),
    z.maxLength(FLEET_REPORT_MAX_EVENTS, `a report has at most ${FLEET_REPORT_MAX_EVENTS} events`),
  ),
}).check(
  // Schema 1 is exactly what it always was: `download` is an unknown field there, refused in the same words.
  z.superRefine((r, ctx) => {
    if (r.schema !== 1) return
    r.events.forEach((e, i) => {
      if (e.download !== undefined) ctx.issues.push({ code: 'unrecognized_keys', keys: ['download'], input: e, path: ['events', i], message: 'unknown field download' })
    })
  }),
)
export type FleetReport = z.infer<typeof FleetReportSchema>

/** `label=key=value` in the views' filters: the key and value rules of a report. */
export function parseLabelFilter(text: string): { key: string; value: string } | null {
  const at = text.indexOf('=')
  if (at < 0) return null
  const key = text.slice(0, at)
  const value = text.slice(at + 1)
  return LABEL_KEY_PATTERN.test(key) && LabelValue.safeParse(value).success ? { key, value } : null
}

// ─── Answers ───────────────────────────────────────────────────────────────────────────────

/** The fleet views' answers, read two ways like the admin answers (readings.ts). */
function fleetAnswerSchemas<R extends Reading>(reading: R) {
  const { object, open, spare } = readingOf(reading)
  const count = z.int().check(z.minimum(0))
  const channel = open(z.enum(CHANNELS), z.string())
  const platform = open(z.nullable(z.enum(PLATFORMS)), z.nullable(z.string()))
  const kind = open(z.enum(EVENT_KINDS), z.string())
  const outcome = open(z.enum(EVENT_OUTCOMES), z.string())

  /** `202` to `POST /v1/reports`: events stored now, and events the broker already had (a retry). */
  const ReportAccepted = object({ accepted: count, duplicates: count })

  /** A channel's current rollout against the hosts that report on that channel. */
  const RolloutProgress = object({
    channel,
    /** The channel's version (null: no release), its rollout percent and halt. */
    version: z.nullable(z.string()),
    percent: z.int(),
    halted: z.boolean(),
    /** Hosts whose latest report names this channel. */
    on_channel: count,
    /** Of those, hosts whose rollout bucket for `version` is below `percent`. */
    in_bucket: count,
    /** Hosts on the channel running `version` (by identity), in the bucket or not. */
    installed: count,
    /** Not running it, and their latest rollback left it. */
    rolled_back: count,
    /** Not running it, not rolled back from it, and their latest failed install was to it. */
    failed: count,
    /** In the bucket and none of the three above: not (yet) seen on it. */
    not_seen: count,
    // What moving to `version` downloaded (schema 2 reports; an older broker sends none of these):
    // the hosts on the channel whose latest install reported with a download was to `version`.
    /** Those hosts. */
    downloads: spare(count),
    /** Of those, the ones whose binary was reassembled from chunks. */
    differential: spare(count),
    /** Bytes they downloaded, added up. */
    downloaded_bytes: spare(count),
    /** What full downloads would have cost: their archives' sizes, added up. */
    full_bytes: spare(count),
    /** `full_bytes - downloaded_bytes` (negative when fallbacks cost more than they saved). */
    saved_bytes: spare(z.int()),
    /** `saved_bytes` as a percentage of `full_bytes`, one decimal; null without downloads. */
    saved_percent: spare(z.nullable(z.number())),
  })

  /** `GET /v1/fleet`: the whole fleet, counted in every shard and added up. */
  const FleetView = object({
    generated_at: z.string(),
    shards: z.int(),
    hosts: count,
    /** Hosts not seen within twice their check interval. */
    stale: count,
    by_version: z.array(object({ version: z.string(), version_key: z.string(), channel, hosts: count })),
    by_platform: z.array(object({ platform, hosts: count })),
    by_label: z.array(object({ key: z.string(), value: z.string(), hosts: count })),
    /** False when there were too many distinct labels to list them all (the most common are listed). */
    by_label_complete: z.boolean(),
    rollouts: z.array(RolloutProgress),
  })

  const LastEvent = object({ kind, outcome, at: z.string() })
  /** One host as its latest report left it. */
  const FleetHost = object({
    host_id: z.string(),
    name: z.nullable(z.string()),
    labels: z.record(z.string(), z.string()),
    channel,
    platform,
    version: z.string(),
    check_interval_s: z.int(),
    first_seen_at: z.string(),
    last_seen_at: z.string(),
    stale: z.boolean(),
    last_event: z.nullable(LastEvent),
    /** The latest failed install (within the event retention or not). */
    failed_install: z.nullable(object({ version: z.string(), at: z.string() })),
    /** The latest rollback: the version it left. */
    rolled_back: z.nullable(object({ from: z.string(), at: z.string() })),
  })
  /** `GET /v1/fleet/hosts`: ordered by host id; pass `next_cursor` as `?cursor=` (null: the end). */
  const FleetHostPage = object({ hosts: z.array(FleetHost), next_cursor: z.nullable(z.string()) })

  /** One stored event. */
  const FleetEventView = object({
    host_id: z.string(),
    id: z.string(),
    at: z.string(),
    received_at: z.string(),
    kind,
    outcome,
    from: z.nullable(z.string()),
    to: z.nullable(z.string()),
    error_class: z.nullable(z.string()),
    exit_code: z.nullable(z.int()),
  })
  /** `GET /v1/fleet/events`: newest first; pass `next_cursor` as `?cursor=` (null: the end). */
  const FleetEventPage = object({ events: z.array(FleetEventView), next_cursor: z.nullable(z.string()) })

  return { ReportAccepted, RolloutProgress, FleetView, FleetHost, FleetHostPage, FleetEventView, FleetEventPage }
}

/** Exactly what this broker serves; for the Worker and its tests. */
export const FleetServed = fleetAnswerSchemas('served')
/** What a client accepts from a broker that speaks this API, older or newer. */
export const FleetAccepted = fleetAnswerSchemas('accepted')

type Served<K extends keyof typeof FleetServed> = z.output<(typeof FleetServed)[K]>
export type ReportAccepted = Served<'ReportAccepted'>
export type RolloutProgress = Served<'RolloutProgress'>
export type FleetView = Served<'FleetView'>
export type FleetHost = Served<'FleetHost'>
export type FleetHostPage = Served<'FleetHostPage'>
export type FleetEventView = Served<'FleetEventView'>
export type FleetEventPage = Served<'FleetEventPage'>
