// The parts of GitHub's `release` webhook payload the broker uses, as zod schemas: everything
// else in the payload is ignored, and anything here that is missing or of the wrong type makes
// the delivery a 400 before any state is touched.
import * as z from 'zod/mini'

/** Envelope fields checked before the event-specific payload (repository allow-list). */
export const WebhookEnvelopeSchema = z.object({
  action: z.optional(z.string().check(z.maxLength(64))),
  repository: z.optional(z.object({ full_name: z.string().check(z.maxLength(256)) })),
  sender: z.optional(z.object({ login: z.string().check(z.maxLength(256)) })),
})
export type WebhookEnvelope = z.infer<typeof WebhookEnvelopeSchema>

export const GithubAssetSchema = z.object({
  id: z.int(),
  name: z.string().check(z.minLength(1), z.maxLength(512)),
  state: z.string().check(z.maxLength(32)),
  size: z.int().check(z.minimum(0)),
  /** `sha256:<hex>` on assets uploaded since GitHub started computing digests; absent before. */
  digest: z.optional(z.nullable(z.string().check(z.maxLength(256)))),
  browser_download_url: z.string().check(z.maxLength(4096)),
})
export type GithubAsset = z.infer<typeof GithubAssetSchema>

export const GithubReleaseSchema = z.object({
  id: z.int().check(z.minimum(1)),
  tag_name: z.string().check(z.minLength(1), z.maxLength(512)),
  draft: z.boolean(),
  prerelease: z.boolean(),
  body: z.optional(z.nullable(z.string())),
  html_url: z.optional(z.nullable(z.string().check(z.maxLength(4096)))),
  published_at: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  created_at: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  assets: z.array(GithubAssetSchema).check(z.maxLength(1000)),
})
export type GithubRelease = z.infer<typeof GithubReleaseSchema>

/** The actions that (re)assess a release, and the ones that withdraw it. */
export const UPSERT_ACTIONS = ['published', 'created', 'prereleased', 'released', 'edited'] as const
export const WITHDRAW_ACTIONS = ['unpublished', 'deleted'] as const
export type ReleaseAction = (typeof UPSERT_ACTIONS)[number] | (typeof WITHDRAW_ACTIONS)[number]

export function isReleaseAction(action: string | undefined): action is ReleaseAction {
  return (UPSERT_ACTIONS as readonly string[]).includes(action ?? '') || (WITHDRAW_ACTIONS as readonly string[]).includes(action ?? '')
}
export function isWithdrawAction(action: ReleaseAction): action is (typeof WITHDRAW_ACTIONS)[number] {
  return (WITHDRAW_ACTIONS as readonly string[]).includes(action)
}
