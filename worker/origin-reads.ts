// Reads that public (anonymous) requests make of the Durable Object, shared within an isolate:
// concurrent requests for the same thing wait for one in-flight read instead of each asking
// the object, and the answer of a read that started less than ORIGIN_MEMO_MS ago answers the
// requests that follow. The object is one single-threaded instance per product, so this is
// what keeps a flood of `Cache-Control: no-cache` manifest requests (or of release and asset
// lookups) from queuing behind each other there. A change made through this isolate (webhook,
// admin call, cron) forgets everything at once (edge-cache.ts `purgeManifests`), so a request
// after it reads the object again; a change made elsewhere (another isolate or colo, the
// object's alarm) is seen within ORIGIN_MEMO_MS. See worker/README.md "Caching and consistency".

/** How long a read's answer stands in for the object's, counted from when the read started. */
export const ORIGIN_MEMO_MS = 1000
/** Keys kept at most (asset lookups are keyed by URL path, which anyone can vary). */
const MAX_KEYS = 256

/** `do`: this request read the object; `do-coalesced`: it waited for another request's read; `memo`: it got a read that started under ORIGIN_MEMO_MS ago. */
export type OriginSource = 'do' | 'do-coalesced' | 'memo'

interface Slot {
  startedAt: number
  promise: Promise<unknown>
  done: boolean
  value: unknown
}

const slots = new Map<string, Slot>()

/**
 * The value for `key`: from a read in flight, a recent one, or `read()` now. `keepAlive` is the
 * request's `waitUntil`: a read that other requests wait for must outlive the request that
 * started it. workerd cancels the continuations of a promise whose creating request has ended
 * (its client went away), so without it one disconnecting client would fail every request
 * sharing its read.
 */
export async function readThrough<T>(key: string, read: () => Promise<T>, keepAlive: (p: Promise<unknown>) => void): Promise<{ value: T; source: OriginSource }> {
  const now = Date.now()
  const known = slots.get(key)
  if (known && !known.done) return { value: (await known.promise) as T, source: 'do-coalesced' }
  if (known && now - known.startedAt < ORIGIN_MEMO_MS) return { value: known.value as T, source: 'memo' }

  if (known) slots.delete(key)
  if (slots.size >= MAX_KEYS) evict(now)
  const slot: Slot = { startedAt: now, promise: read(), done: false, value: undefined }
  slots.set(key, slot)
  keepAlive(slot.promise.catch(() => undefined))
  try {
    const value = (await slot.promise) as T
    // Forgotten meanwhile (a change through this isolate): the answer may predate the change,
    // so it serves the requests that were already waiting for it, and no later one.
    if (slots.get(key) === slot) {
      slot.done = true
      slot.value = value
    }
    return { value, source: 'do' }
  } catch (err) {
    if (slots.get(key) === slot) slots.delete(key)
    throw err
  }
}

/** The request's `waitUntil`, for `readThrough`. */
export const keepAlive =
  (c: { executionCtx: { waitUntil(p: Promise<unknown>): void } }) =>
  (p: Promise<unknown>): void =>
    c.executionCtx.waitUntil(p)

/** Forgets every read, in flight or recent: called after each change made through this isolate. */
export function forgetOriginReads(): void {
  slots.clear()
}

/** Drops expired answers, then the oldest keys, until there is room for one more. */
function evict(now: number): void {
  for (const [key, slot] of slots) if (slot.done && now - slot.startedAt >= ORIGIN_MEMO_MS) slots.delete(key)
  for (const key of slots.keys()) {
    if (slots.size < MAX_KEYS) break
    slots.delete(key)
  }
}
