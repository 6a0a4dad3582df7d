// The parts of GitHub's `release` webhook payload the broker uses, as zod schemas: everything
// else in the payload is ignored, and anything here that is missing or of the wrong type makes
// the delivery a 400 before any state is touched.
import * as z from 'zod/mini'
import { escapeControlChars, firstControlChar, neutralizeNotes } from './control-chars.ts'

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

const ReleaseFieldsSchema = z.object({
  id: z.int().check(z.minimum(1)),
  tag_name: z.string().check(z.minLength(1), z.maxLength(512)),
  draft: z.boolean(),
  prerelease: z.boolean(),
  body: z.optional(z.nullable(z.string())),
  html_url: z.optional(z.nullable(z.string().check(z.maxLength(4096)))),
  published_at: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  created_at: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  assets: z.array(GithubAssetSchema).check(z.maxLength(1000)),
  /**
   * Set by `screenRelease`, never by GitHub: why the release must be refused (a control
   * character in a field). Part of the schema so that the Durable Object's re-validation of an
   * already screened release keeps it; a payload that carried it would only be refused.
   */
  ingest_refusal: z.optional(z.string().check(z.maxLength(2048))),
})
type ReleaseFields = z.infer<typeof ReleaseFieldsSchema>

/**
 * A release payload as the broker keeps it, from a webhook and from the API's release list
 * alike: screened by `screenRelease`, so no field of it holds a control character.
 */
export const GithubReleaseSchema = z.pipe(ReleaseFieldsSchema, z.transform(screenRelease))
export type GithubRelease = z.infer<typeof GithubReleaseSchema>

/**
 * Control characters (policy/control-chars.ts) at ingest. Every kept field but the notes may
 * reach a header (a redirect's Location), a signed manifest, a log line or a terminal, so one
 * in any of them refuses the release (`ingest_refusal`, checked first by `assessRelease`), and
 * the value is kept only with the character replaced by its visible escape (`\u000D`): the
 * refusal can be recorded and shown without storing the character. The notes (`body`) keep
 * tabs and line breaks; their other control characters become U+FFFD.
 */
export function screenRelease(r: ReleaseFields): ReleaseFields {
  const problems: string[] = []
  const screen = <T extends string | null | undefined>(where: string, value: T): T => {
    if (typeof value !== 'string') return value
    const c = firstControlChar(value)
    if (c === null) return value
    problems.push(`${where} contains ${c}`)
    return escapeControlChars(value) as T
  }
  const tag_name = screen('tag_name', r.tag_name)
  const html_url = screen('html_url', r.html_url)
  const published_at = screen('published_at', r.published_at)
  const created_at = screen('created_at', r.created_at)
  const assets = r.assets.map((a, i) => {
    const label = firstControlChar(a.name) === null ? `asset ${JSON.stringify(a.name)}:` : `asset ${i + 1}:`
    return {
      ...a,
      name: screen(`${label} name`, a.name),
      state: screen(`${label} state`, a.state),
      digest: screen(`${label} digest`, a.digest),
      browser_download_url: screen(`${label} browser_download_url`, a.browser_download_url),
    }
  })
  const refusal =
    problems.length === 0
      ? r.ingest_refusal
      : `${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; control characters and unpaired surrogates are refused in every field but the release notes`
  const body = typeof r.body === 'string' ? neutralizeNotes(r.body) : r.body
  const out: ReleaseFields = { ...r, tag_name, html_url, published_at, created_at, body, assets }
  if (refusal !== undefined) out.ingest_refusal = refusal
  return out
}

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
