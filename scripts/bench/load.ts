// Load runs shared by the bench parts (manifest.ts, fleet.ts): each run counts what went wrong
// by kind (socket errors by code such as ECONNRESET, timeouts, unexpected statuses) and fails
// only when its error rate is above MAX_ERROR_RATE, so one reset socket among hundreds of
// thousands of requests does not discard the run. The rate goes into the figure's note.
import autocannon from 'autocannon'

/** A run fails above 0.1 % of its requests going wrong (any kind). */
export const MAX_ERROR_RATE = 0.001

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  /** Requests that got an answer or failed (the rate's denominator). */
  requests: number
  /** What went wrong, by kind: `ECONNRESET`, `timeout`, `HTTP 500`, … */
  errors: Record<string, number>
}

export const errorCount = (r: Pick<LoadResult, 'errors'>): number => Object.values(r.errors).reduce((a, b) => a + b, 0)
export const errorRate = (r: Pick<LoadResult, 'errors' | 'requests'>): number => (r.requests === 0 ? 1 : errorCount(r) / r.requests)

/** "errors 0.000 % of 225 000" or "errors 0.001 % of 225 000 (ECONNRESET 2)": for a figure's note. */
export function errorNote(r: Pick<LoadResult, 'errors' | 'requests'>): string {
  const kinds = Object.entries(r.errors).map(([k, n]) => `${k} ${n}`)
  return `errors ${(errorRate(r) * 100).toFixed(3)} % of ${r.requests}${kinds.length ? ` (${kinds.join(', ')})` : ''}`
}

/** Throws when the run's error rate is above MAX_ERROR_RATE, naming the kinds. */
export function checkErrorRate(what: string, r: Pick<LoadResult, 'errors' | 'requests'>): void {
  if (errorRate(r) > MAX_ERROR_RATE) throw new Error(`${what}: ${errorNote(r)}, above the ${MAX_ERROR_RATE * 100} % a run may lose`)
}

function kindOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown }
  if (typeof e?.code === 'string') return e.code
  if (e?.message === 'request timed out') return 'timeout'
  return typeof e?.message === 'string' ? e.message.slice(0, 60) : 'error'
}

/**
 * autocannon for `duration` seconds at `connections`; every answer other than `expect` counts
 * as an error (`HTTP <status>`), like every socket error and timeout.
 */
export function loadRun(url: string, o: { connections: number; duration: number; headers?: Record<string, string>; expect?: number }): Promise<LoadResult> {
  const expect = o.expect ?? 200
  const socket: Record<string, number> = {}
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections: o.connections, duration: o.duration, headers: o.headers ?? {} }, (err, r) => {
      if (err) return reject(err)
      const errors: Record<string, number> = { ...socket }
      let answered = 0
      for (const [status, { count }] of Object.entries(r.statusCodeStats as Record<string, { count: number }>)) {
        answered += count
        if (Number(status) !== expect) errors[`HTTP ${status}`] = count
      }
      // autocannon's own tally, in case an error reached it without a `reqError` event.
      const seen = Object.values(socket).reduce((a, b) => a + b, 0)
      if (r.errors > seen) errors['other'] = r.errors - seen
      resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, requests: answered + r.errors, errors })
    })
    instance.on('reqError', (err: unknown) => {
      const kind = kindOf(err)
      socket[kind] = (socket[kind] ?? 0) + 1
    })
  })
}

/**
 * Runs `count` requests with `concurrency` in flight through `fetch`; a request that throws
 * (socket error) or answers a status `ok` refuses is counted by kind, not fatal. `onAnswer`
 * sees each answer's headers (e.g. to tally `x-cco-source`).
 */
export async function drive(
  count: number,
  concurrency: number,
  request: (i: number) => Promise<Response>,
  ok: (status: number) => boolean,
  onAnswer?: (res: Response) => void,
): Promise<LoadResult> {
  let next = 0
  const errors: Record<string, number> = {}
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++
        let kind: string | undefined
        try {
          const res = await request(i)
          await res.arrayBuffer()
          if (!ok(res.status)) kind = `HTTP ${res.status}`
          else onAnswer?.(res)
        } catch (err) {
          kind = kindOf((err as { cause?: unknown }).cause ?? err)
        }
        if (kind) errors[kind] = (errors[kind] ?? 0) + 1
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  return { rps: count / seconds, p50: Number.NaN, p99: Number.NaN, requests: count, errors }
}
