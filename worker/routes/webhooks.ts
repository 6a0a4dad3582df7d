// `POST /webhooks/github`: GitHub's release webhooks. Checks run cheapest-first and every
// refusal here leaves the broker's state untouched (the delivery is not even marked as seen):
// size, signature (@octokit/webhooks, constant-time), delivery id, JSON, repository, event,
// action. What remains goes to the Durable Object, which answers without network I/O and
// treats a delivery id or a body (by its sha256) it already processed as a duplicate.
import { Webhooks } from '@octokit/webhooks'
import { Hono } from 'hono'
import { firstIssue } from '../../contract/issues.ts'
import type { AppEnv } from '../app-env.ts'
import type { DeliveryResult } from '../broker/types.ts'
import { brokerChanges } from '../changes.ts'
import { webhookSecret } from '../config.ts'
import { ApiError } from '../errors.ts'
import { sha256Hex } from '../policy/cache.ts'
import { escapeControlChars } from '../policy/control-chars.ts'
import { GithubReleaseSchema, WebhookEnvelopeSchema, isReleaseAction, isWithdrawAction } from '../policy/github-release.ts'
import { readCapped } from '../read-capped.ts'
import { loadSigningKeys } from '../signing.ts'

/** GitHub caps payloads at 25 MB; release payloads are a few KiB. */
export const WEBHOOK_MAX_BYTES = 5 * 1024 * 1024

export const webhooks = new Hono<AppEnv>()

// One verifier per secret value; @octokit/webhooks compares with WebCrypto (constant time).
let verifier: { secret: string; webhooks: Webhooks } | null = null
function verifierFor(secret: string): Webhooks {
  if (verifier?.secret !== secret) verifier = { secret, webhooks: new Webhooks({ secret }) }
  return verifier.webhooks
}

webhooks.post('/github', async (c) => {
  const secret = webhookSecret(c.env)

  const bytes = await readCapped(c.req.raw.body, WEBHOOK_MAX_BYTES, c.req.header('content-length'))
  if (bytes === null) throw new ApiError(413, 'payload_too_large', `webhook body over ${WEBHOOK_MAX_BYTES} bytes`)
  const body = new TextDecoder().decode(bytes)

  const signature = c.req.header('x-hub-signature-256') ?? ''
  if (!/^sha256=[0-9a-f]{64}$/i.test(signature)) throw new ApiError(401, 'bad_signature', 'missing or malformed X-Hub-Signature-256')
  let valid = false
  try {
    valid = body.length > 0 && (await verifierFor(secret).verify(body, signature))
  } catch {
    valid = false
  }
  if (!valid) throw new ApiError(401, 'bad_signature', 'X-Hub-Signature-256 does not match the body')

  const deliveryId = c.req.header('x-github-delivery')?.trim() ?? ''
  if (!/^[\w-]{1,100}$/.test(deliveryId)) throw new ApiError(400, 'bad_request', 'missing or malformed X-GitHub-Delivery')
  const event = c.req.header('x-github-event')?.trim() ?? ''
  if (!/^[a-z_]{1,64}$/.test(event)) throw new ApiError(400, 'bad_request', 'missing or malformed X-GitHub-Event')

  let json: unknown
  try {
    json = JSON.parse(body)
  } catch {
    throw new ApiError(400, 'malformed_json', 'the body is not valid JSON')
  }
  const envelope = WebhookEnvelopeSchema.safeParse(json)
  if (!envelope.success) throw new ApiError(400, 'invalid_payload', `payload: ${firstIssue(envelope.error)}`)
  const repository = envelope.data.repository?.full_name
  const config = c.var.config
  if (!repository || repository.toLowerCase() !== config.repository.toLowerCase()) {
    throw new ApiError(403, 'repository_not_allowed', `deliveries are accepted only for ${config.repository}`)
  }

  if (event === 'ping') return c.json({ status: 'pong' }, 200)
  if (event !== 'release') return c.json({ status: 'ignored', reason: `event ${event} is not handled` }, 202)
  const action = envelope.data.action
  if (!isReleaseAction(action)) return c.json({ status: 'ignored', reason: `release action ${JSON.stringify(action ?? null)} is not handled` }, 202)

  const parsed = GithubReleaseSchema.safeParse((json as { release?: unknown }).release)
  if (!parsed.success) throw new ApiError(400, 'invalid_payload', `release payload: ${firstIssue(parsed.error)}`)
  // Drafts are private work in progress; `unpublished` turns a release back into a draft and
  // must still withdraw it.
  if (parsed.data.draft && !isWithdrawAction(action)) return c.json({ status: 'ignored', reason: 'draft release' }, 202)

  // Publishing signs manifests: a broken key is reported before anything is recorded.
  await loadSigningKeys(c.env)
  // The audit log's actor: kept with visible escapes for any control character (policy/control-chars.ts).
  const sender = envelope.data.sender?.login
  const result: DeliveryResult = await brokerChanges(c.env, config).receiveRelease({
    id: deliveryId,
    bodySha256: await sha256Hex(body),
    action,
    actor: sender ? `github:${escapeControlChars(sender)}` : 'github',
    release: parsed.data,
  })
  const status = result.status === 'queued' || result.status === 'ignored' ? 202 : 200
  return c.json(result, status)
})
