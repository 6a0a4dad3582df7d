// Outgoing notifications of rollout events, decided from plain data: which audit entries are
// announced (promote, ramp step, halt and auto-halt, resume, yank, rollout complete), the message each one sends
// (a Slack-compatible `text` plus structured fields), NOTIFY_URLS under the broker's one URL
// rule, the retry schedule, and how a receiver's URL is shown (its origin only: webhook URLs
// often carry their secret in the path).
import { checkUrl } from './url-policy.ts'

export type NotifyEvent = 'promote' | 'ramp_step' | 'halt' | 'auto_halt' | 'resume' | 'yank' | 'rollout_complete'

export interface NotifyMessage {
  /** Slack's incoming webhooks show this; other receivers read the fields. */
  text: string
  event: NotifyEvent
  product: string
  channel: string | null
  version: string | null
  actor: string
  at: string
  percent?: number
  reason?: string
  detail: Record<string, unknown>
}

/** Attempts per message and receiver before it is given up (recorded in the audit log). */
export const NOTIFY_MAX_ATTEMPTS = 6
/** A receiver's answer must come within this time. */
export const NOTIFY_TIMEOUT_MS = 10_000

/** The wait before attempt `attempts + 1`: 30 s, doubling, at most an hour. */
export function notifyRetryDelayMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(attempts - 1, 0), 3_600_000)
}

/** NOTIFY_URLS: a JSON list of URLs, each under the URL rule (https, or http to loopback). Empty or unset: no notifications. */
export function parseNotifyUrls(raw: string | undefined): { ok: true; urls: string[] } | { ok: false; problem: string } {
  const text = (raw ?? '').trim()
  if (text === '') return { ok: true, urls: [] }
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch {
    return { ok: false, problem: 'is not JSON (a list of URLs)' }
  }
  if (!Array.isArray(list) || list.length > 10 || !list.every((u) => typeof u === 'string')) return { ok: false, problem: 'must be a JSON list of at most 10 URLs' }
  const urls: string[] = []
  for (const [i, u] of (list as string[]).entries()) {
    const checked = checkUrl(u)
    if (!checked.ok) return { ok: false, problem: `entry ${i} (${redactedUrl(u)}) ${checked.problem}` }
    urls.push(checked.url.href)
  }
  return { ok: true, urls }
}

/** What a receiver's URL is shown as in logs and the audit log: its origin (the path may be a secret). */
export function redactedUrl(raw: string): string {
  try {
    return `${new URL(raw).origin}/…`
  } catch {
    return '(not a URL)'
  }
}

/** The message an audit entry announces, or null for entries that are not announced. */
export function notificationOf(entry: { action: string; target: string | null; detail: Record<string, unknown> }, actor: string, product: string, at: string): NotifyMessage | null {
  const d = entry.detail
  const version = typeof d.version === 'string' ? d.version : null
  const percent = typeof d.percent === 'number' ? d.percent : undefined
  const reason = typeof d.reason === 'string' ? d.reason : undefined
  const base = { product, actor, at, detail: d, ...(percent !== undefined ? { percent } : {}), ...(reason !== undefined ? { reason } : {}) }
  const ch = entry.target
  switch (entry.action) {
    case 'channel.promoted':
      return { ...base, event: 'promote', channel: ch, version, text: `${product}: ${version} promoted to ${ch} at ${percent}% by ${actor}` }
    case 'channel.ramp_step':
      return { ...base, event: 'ramp_step', channel: ch, version, text: `${product}: ${ch} rollout of ${version} moved to ${percent}% by schedule${d.done === true ? ' (last step)' : ''}` }
    case 'channel.halted':
      return d.auto === true
        ? { ...base, event: 'auto_halt', channel: ch, version, text: `:rotating_light: ${product}: ${ch} rollout of ${version} halted itself: ${reason}` }
        : { ...base, event: 'halt', channel: ch, version, text: `${product}: ${ch} rollout of ${version} halted by ${actor}: ${reason}` }
    case 'channel.resumed':
      return { ...base, event: 'resume', channel: ch, version, text: `${product}: ${ch} rollout of ${version} resumed by ${actor}` }
    case 'channel.rollout_complete':
      return { ...base, event: 'rollout_complete', channel: ch, version, text: `${product}: ${ch} rollout of ${version} is complete: 100 % and no failures after ${d.settle_s} s` }
    case 'release.yanked':
      return { ...base, event: 'yank', channel: null, version: ch, text: `${product}: ${ch} yanked by ${actor}: ${reason}` }
    default:
      return null
  }
}
