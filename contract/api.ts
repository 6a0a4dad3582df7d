// Bodies of the broker's HTTP API other than the manifest (worker/README.md): the release
// engineers' admin requests, and every answer `cco release …` reads (errors, the channel and
// release listings, the answers of changes, the audit log), each written once and read two
// ways: exactly as the broker serves it, and as tolerantly as a client accepts it.

import * as z from 'zod/mini'
import { CHANNELS } from './manifest.ts'
import { PLATFORMS } from './platform.ts'
import { isVersion } from './version.ts'
import { readingOf, type Reading } from './readings.ts'

const Percent = z.int().check(z.minimum(0, 'percent must be 0–100'), z.maximum(100, 'percent must be 0–100'))
// A reason is one line of text: it is signed into every manifest (yanks), shown by `cco` on
// hosts' terminals and kept in the audit log, so C0 controls (tab and line breaks too), DEL, C1
// controls, U+2028/U+2029 and unpaired surrogates (which storage would turn into three U+FFFD
// each) are refused rather than stored.
const Reason = z.string().check(
  z.minLength(1, 'a reason is required'),
  z.maxLength(1024),
  z.regex(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/, 'must be one line without control characters'),
  z.refine((s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s), 'must be well-formed text (it has an unpaired surrogate)'),
)
const VersionText = z.string().check(z.refine(isVersion, 'not a version'))

/** Limits of a scheduled ramp: 2–10 increasing percentages from 1 to 100, a step every minute or more. */
export const RAMP_MIN_STEPS = 2
export const RAMP_MAX_STEPS = 10
export const RAMP_MIN_EVERY_S = 60
export const RAMP_MAX_EVERY_S = 30 * 86_400

/** A scheduled ramp: the rollout starts at `steps[0]` and the broker moves it to the next step every `every_s` seconds. */
export const RampRequestSchema = z.object({
  steps: z.array(z.int().check(z.minimum(1, 'a step is a percent from 1 to 100'), z.maximum(100, 'a step is a percent from 1 to 100'))).check(
    z.minLength(RAMP_MIN_STEPS, `a ramp has ${RAMP_MIN_STEPS}–${RAMP_MAX_STEPS} steps`),
    z.maxLength(RAMP_MAX_STEPS, `a ramp has ${RAMP_MIN_STEPS}–${RAMP_MAX_STEPS} steps`),
    z.refine((steps) => steps.every((p, i) => i === 0 || p > steps[i - 1]!), 'the steps must increase'),
  ),
  every_s: z.int().check(z.minimum(RAMP_MIN_EVERY_S, `every_s must be ${RAMP_MIN_EVERY_S} or more`), z.maximum(RAMP_MAX_EVERY_S, `every_s must be at most ${RAMP_MAX_EVERY_S}`)),
})
export type RampRequest = z.infer<typeof RampRequestSchema>

export const PromoteRequestSchema = z.object({
  version: VersionText,
  percent: z.optional(Percent),
  /** Start at `ramp.steps[0]` and move on by schedule (instead of `percent`). */
  ramp: z.optional(RampRequestSchema),
  /** Skip the minimum soak time on beta; recorded in the audit log. */
  force: z.optional(z.boolean()),
}).check(z.refine((b) => !(b.percent !== undefined && b.ramp !== undefined), 'give percent or ramp, not both'))
export type PromoteRequest = z.infer<typeof PromoteRequestSchema>

export const RolloutRequestSchema = z
  .object({ percent: z.optional(Percent), ramp: z.optional(RampRequestSchema) })
  .check(
    z.refine((b) => !(b.percent !== undefined && b.ramp !== undefined), 'give percent or ramp, not both'),
    z.refine((b) => b.percent !== undefined || b.ramp !== undefined, 'percent or ramp is required'))
export type RolloutRequest = z.infer<typeof RolloutRequestSchema>

/** A channel's failure guard: the rollout halts itself when both thresholds are reached. */
export const GuardRequestSchema = z.object({
  min_failures: z.optional(z.int().check(z.minimum(1, 'min_failures must be 1–100000'), z.maximum(100000, 'min_failures must be 1–100000'))),
  min_failure_percent: z.optional(z.number().check(z.minimum(0, 'min_failure_percent must be 0–100'), z.maximum(100, 'min_failure_percent must be 0–100'))),
})
export type GuardRequest = z.infer<typeof GuardRequestSchema>

export const HaltRequestSchema = z.object({ reason: Reason })
export type HaltRequest = z.infer<typeof HaltRequestSchema>

export const YankRequestSchema = z.object({ reason: Reason })
export type YankRequest = z.infer<typeof YankRequestSchema>

// ─── Answers ───────────────────────────────────────────────────────────────────────────────

/** Every answer, written once and read two ways (readings.ts). */
function answerSchemas<R extends Reading>(reading: R) {
  const { served, object, spare, open } = readingOf(reading)

  /** Every error response: `{"error":{"code":"…","message":"…"}}`. */
  const ErrorBody = object({ error: object({ code: z.string(), message: z.string() }) })

  const guardShape = { min_failures: z.int(), min_failure_percent: z.number() }
  const channel = {
    channel: open(z.enum(CHANNELS), z.string()),
    /** Null while the channel has no release. */
    version: z.nullable(z.string()),
    seq: z.int(),
    rollout: object({
      percent: z.int(),
      halted: z.boolean(),
      /** Why it is halted; null while it is not. */
      reason: spare(z.nullable(z.string())),
      /** Who halted it: `auto-halt` (the failure guard) or `admin` (the actor is in the audit log); null while it runs. */
      halted_by: spare(z.nullable(z.string())),
    }),
    /** The failure guard: the rollout halts itself when at least `min_failures` hosts and `min_failure_percent` % of those that attempted the version failed it. */
    // Not `spare(object(…))`: nested, the two deferred readings come out as `unknown`; a union of
    // the strict and loose object reads the same either way.
    guard: spare(served ? z.strictObject(guardShape) : z.looseObject(guardShape)),
    /** The scheduled ramp, null when none: its steps, the current one, when the next is due, and why it waits. */
    ramp: spare(
      z.nullable(
        object({
          version: z.string(),
          steps: z.array(z.int()),
          every_s: z.int(),
          /** Index into `steps` of the rollout's current step. */
          step: z.int(),
          next_percent: z.int(),
          next_at: z.string(),
          /** Why the due step has not happened (the rollout is halted, failures near the guard); null when it is not waiting. */
          waiting: z.nullable(z.string()),
        }),
      ),
    ),
    /** When the current manifest was signed and when it expires; null before the first one. */
    issued_at: spare(z.nullable(z.string())),
    expires_at: spare(z.nullable(z.string())),
  }
  /** A channel in `GET /v1/channels` (informational, unsigned). */
  const ChannelSummary = object(channel)
  const ChannelList = object({ channels: z.array(ChannelSummary) })
  /**
   * The answer of `POST /v1/channels/{channel}/promote|rollout|halt|resume`: the channel as it
   * is now; `changed` is false when the call changed nothing (same seq, no audit entry).
   */
  const ChannelChange = object({ ...channel, changed: spare(z.boolean()) })

  /** A background job's progress: attempts so far, the next one, the last failure. */
  const attempts = {
    attempts: spare(z.int()),
    next_attempt_at: spare(z.nullable(z.string())),
    last_error: spare(z.nullable(z.string())),
  }
  const Asset = object({
    name: spare(z.string()),
    size: spare(z.int()),
    sha256: spare(z.string()),
    /** The broker's content-addressed download URL (the one manifests carry). */
    url: spare(z.string()),
    /** Where the broker fetches it from (GitHub). */
    source_url: spare(z.string()),
  })
  const release = {
    version: z.string(),
    tag: spare(z.string()),
    /** `live`, `pending`, `mirroring`, `refused` or `withdrawn` (worker/README.md). */
    status: z.string(),
    /** Why it was refused or withdrawn; for a live release, why its latest update was refused. */
    reason: spare(z.nullable(z.string())),
    prerelease: spare(z.boolean()),
    published_at: spare(z.nullable(z.string())),
    first_seen_at: spare(z.string()),
    updated_at: spare(z.string()),
    /** Channels pointing at it now. */
    channels: open(z.array(z.enum(CHANNELS)), z._default(z.array(z.string()), [])),
    yanked: spare(z.nullable(object({ reason: z.string(), at: spare(z.string()) }))),
    /** When these bytes went live (the soak time on beta counts from here). */
    live_since: spare(z.nullable(z.string())),
    /** Set while a file the release needs is being fetched: its checksums file, then its block maps (`file` names it). */
    pending: spare(z.nullable(object({ file: spare(z.string()), ...attempts }))),
    /** Set while assets are being copied into the R2 mirror (for a live release: its update's). */
    mirror: spare(z.nullable(object(attempts))),
    notes_url: spare(z.nullable(z.string())),
    github_release_id: spare(z.int()),
    /** Platform key → archive; a platform missing here has no build in this release. */
    assets: open(z.partialRecord(z.enum(PLATFORMS), Asset), z.optional(z.record(z.string(), Asset))),
  }
  /** A release in `GET /v1/releases` (newest first) and in the answers of yank and unyank. */
  const ReleaseView = object(release)
  const ReleaseList = object({ releases: z.array(ReleaseView) })
  /** `GET /v1/releases/{version}`: the release with its notes. */
  const ReleaseDetail = object({ ...release, notes: spare(z.string()) })
  /** The answer of `POST /v1/releases/{version}/yank|unyank`. */
  const ReleaseChange = object({
    release: ReleaseView,
    /** Channel → its new seq, for every channel the change re-signed. */
    channels: open(z.partialRecord(z.enum(CHANNELS), z.int()), z._default(z.record(z.string(), z.int()), {})),
  })

  /** One entry of `GET /v1/audit`. */
  const AuditEntry = object({
    id: z.int(),
    at: z.string(),
    actor: z.string(),
    action: z.string(),
    target: spare(z.nullable(z.string())),
    delivery: spare(z.nullable(z.string())),
    /** The facts of the change, as stored (a JSON object). */
    detail: open(z.record(z.string(), z.unknown()), z.optional(z.unknown())),
  })
  /** `GET /v1/audit`: newest first. */
  const AuditPage = object({
    entries: z.array(AuditEntry),
    /** Pass as `?before=` to get the next (older) page; null on the last page. */
    next_before: spare(z.nullable(z.int())),
  })

  return { ErrorBody, ChannelSummary, ChannelList, ChannelChange, ReleaseView, ReleaseList, ReleaseDetail, ReleaseChange, AuditEntry, AuditPage }
}

/** Exactly what this broker serves; for the Worker and its tests. */
export const Served = answerSchemas('served')
/** What a client accepts from a broker that speaks this API, older or newer; for the client. */
export const Accepted = answerSchemas('accepted')

export type ServedAnswer<K extends keyof typeof Served> = z.output<(typeof Served)[K]>
export type AcceptedAnswer<K extends keyof typeof Accepted> = z.output<(typeof Accepted)[K]>

export type ErrorBody = ServedAnswer<'ErrorBody'>
export type ChannelSummary = ServedAnswer<'ChannelSummary'>
export type ChannelList = ServedAnswer<'ChannelList'>
export type ChannelChange = ServedAnswer<'ChannelChange'>
export type ReleaseView = ServedAnswer<'ReleaseView'>
export type ReleaseList = ServedAnswer<'ReleaseList'>
export type ReleaseDetail = ServedAnswer<'ReleaseDetail'>
export type ReleaseChange = ServedAnswer<'ReleaseChange'>
export type AuditEntry = ServedAnswer<'AuditEntry'>
export type AuditPage = ServedAnswer<'AuditPage'>

// The names these schemas had before the two readings; their readers (the manifest fetch of
// `cco update`, the Worker's older tests) read as a client does.
export const ErrorBodySchema = Accepted.ErrorBody
export const ChannelListSchema = Accepted.ChannelList
export const ChannelChangeSchema = Accepted.ChannelChange
export const ReleaseChangeSchema = Accepted.ReleaseChange
export const AuditPageSchema = Accepted.AuditPage
