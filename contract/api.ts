// Bodies of the broker's HTTP API other than the manifest: errors, informational listings
// and the release engineers' admin requests (worker/README.md).

import * as z from 'zod/mini'
import { isVersion } from './version.ts'

/** Every error response: `{"error":{"code":"…","message":"…"}}`. */
export const ErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
})
export type ErrorBody = z.infer<typeof ErrorBodySchema>

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

export const PromoteRequestSchema = z.object({
  version: VersionText,
  percent: z.optional(Percent),
  /** Skip the minimum soak time on beta; recorded in the audit log. */
  force: z.optional(z.boolean()),
})
export type PromoteRequest = z.infer<typeof PromoteRequestSchema>

export const RolloutRequestSchema = z.object({ percent: Percent })
export type RolloutRequest = z.infer<typeof RolloutRequestSchema>

export const HaltRequestSchema = z.object({ reason: Reason })
export type HaltRequest = z.infer<typeof HaltRequestSchema>

export const YankRequestSchema = z.object({ reason: Reason })
export type YankRequest = z.infer<typeof YankRequestSchema>

/** `GET /v1/channels`: informational, unsigned. */
export const ChannelSummarySchema = z.object({
  channel: z.string(),
  version: z.nullable(z.string()),
  seq: z.int(),
  rollout: z.object({ percent: z.int(), halted: z.boolean(), reason: z.optional(z.nullable(z.string())) }),
  issued_at: z.nullable(z.string()),
  expires_at: z.nullable(z.string()),
})
export type ChannelSummary = z.infer<typeof ChannelSummarySchema>
export const ChannelListSchema = z.object({ channels: z.array(ChannelSummarySchema) })

/** One entry of `GET /v1/audit` (newest first). */
export const AuditEntrySchema = z.object({
  id: z.int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.nullable(z.string()),
  delivery: z.nullable(z.string()),
  detail: z.unknown(),
})
export type AuditEntry = z.infer<typeof AuditEntrySchema>
export const AuditPageSchema = z.object({
  entries: z.array(AuditEntrySchema),
  /** Pass as `?before=` to get the next (older) page; null on the last page. */
  next_before: z.nullable(z.int()),
})
export type AuditPage = z.infer<typeof AuditPageSchema>

/**
 * The answer of `POST /v1/channels/{channel}/promote|rollout|halt|resume`: the channel as it is
 * now; `changed` is false when the call changed nothing (same seq, no audit entry).
 */
export const ChannelChangeSchema = z.extend(ChannelSummarySchema, { changed: z.boolean() })
export type ChannelChange = z.infer<typeof ChannelChangeSchema>

/** The answer of `POST /v1/releases/{version}/yank|unyank` (the release has more fields). */
export const ReleaseChangeSchema = z.object({
  release: z.object({
    version: z.string(),
    status: z.string(),
    channels: z.array(z.string()),
    yanked: z.nullable(z.object({ reason: z.string(), at: z.string() })),
  }),
  /** Channel → its new seq, for every channel the change re-signed. */
  channels: z.record(z.string(), z.int()),
})
export type ReleaseChange = z.infer<typeof ReleaseChangeSchema>
