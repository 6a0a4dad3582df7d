// The parts of the broker's answers that `cco release …` shows. Parsed loosely (unknown fields
// kept, most fields optional) so that a newer broker adding fields does not break an older
// client; `--json` prints the answers exactly as the broker sent them.
import { z } from 'zod'

const Rollout = z.looseObject({
  percent: z.number(),
  halted: z.boolean(),
  reason: z.string().nullish(),
})

export const ChannelViewSchema = z.looseObject({
  channel: z.string(),
  version: z.string().nullable(),
  seq: z.number(),
  rollout: Rollout,
  issued_at: z.string().nullish(),
  expires_at: z.string().nullish(),
})
export type ChannelView = z.infer<typeof ChannelViewSchema>

export const ChannelListAnswerSchema = z.looseObject({ channels: z.array(ChannelViewSchema) })

export const ReleaseViewSchema = z.looseObject({
  version: z.string(),
  status: z.string(),
  reason: z.string().nullish(),
  prerelease: z.boolean().optional(),
  published_at: z.string().nullish(),
  channels: z.array(z.string()).default([]),
  yanked: z.looseObject({ reason: z.string(), at: z.string().optional() }).nullish(),
})
export type ReleaseView = z.infer<typeof ReleaseViewSchema>

export const ReleaseListAnswerSchema = z.looseObject({ releases: z.array(ReleaseViewSchema) })

/**
 * promote / rollout / halt / resume: the channel's new state. Accepted both as the channel
 * summary itself (with `changed`) and wrapped as `{channel: summary, changed}`.
 */
export const ChannelChangeAnswerSchema = z.union([
  z.looseObject({ channel: ChannelViewSchema, changed: z.boolean().optional() }),
  ChannelViewSchema.extend({ changed: z.boolean().optional() }),
])

export interface ChannelChange {
  channel: ChannelView
  /** Null when the broker did not say. */
  changed: boolean | null
}

export function channelChange(answer: z.infer<typeof ChannelChangeAnswerSchema>): ChannelChange {
  if (typeof answer.channel === 'object' && answer.channel !== null) {
    return { channel: answer.channel, changed: answer.changed ?? null }
  }
  const { changed, ...channel } = answer as ChannelView & { changed?: boolean }
  return { channel, changed: changed ?? null }
}

/** yank / unyank: the release and the channels re-signed, with their new seq. */
export const ReleaseChangeAnswerSchema = z.looseObject({
  release: ReleaseViewSchema,
  channels: z.record(z.string(), z.number()).default({}),
})
export type ReleaseChange = z.infer<typeof ReleaseChangeAnswerSchema>

export const AuditEntryViewSchema = z.looseObject({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullish(),
  delivery: z.string().nullish(),
  detail: z.unknown().optional(),
})
export type AuditEntryView = z.infer<typeof AuditEntryViewSchema>

export const AuditPageAnswerSchema = z.looseObject({
  entries: z.array(AuditEntryViewSchema),
  next_before: z.number().nullish(),
})
export type AuditPageView = z.infer<typeof AuditPageAnswerSchema>
