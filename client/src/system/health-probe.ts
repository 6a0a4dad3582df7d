// Asks a local daemon's `GET /health` with plain node:http: loopback only, never through a
// proxy (HTTP_PROXY must not capture a request to 127.0.0.1), with a short timeout.
import { request } from 'node:http'

export interface HealthBody {
  status: string
  version: string
  uptime_seconds: number
  channel: string
  last_check: string | null
  update_available: boolean
  latest_version?: string | null
  pid?: number
  /** Only while an update waits for a maintenance window: when this host installs it (RFC 3339). */
  next_install_at?: string
  /** Only while `status` is "degraded": the update checks that failed in a row, since when (RFC 3339), the last error. */
  failed_checks?: number
  failing_since?: string
  last_error?: string
}

/**
 * The statuses of a daemon that runs and answers: "ok", or "degraded" when its update checks
 * keep failing (daemon/service-state.ts). Both are a working daemon to a restart's health gate;
 * what a person is told about "degraded" is up to the command that asked.
 */
export const ANSWERING_STATUSES: readonly string[] = ['ok', 'degraded']

export type HealthAnswer =
  | { ok: true; statusCode: number; body: HealthBody; raw: string }
  | { ok: false; problem: string; statusCode?: number; raw?: string }

export function healthUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
  return `http://${h}:${port}/health`
}

export function probeHealth(host: string, port: number, timeoutMs = 2_000): Promise<HealthAnswer> {
  return new Promise((resolve) => {
    const req = request(
      { host: host.replace(/^\[(.*)\]$/, '$1'), port, path: '/health', method: 'GET', agent: false, timeout: timeoutMs, headers: { accept: 'application/json' } },
      (res) => {
        let raw = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => {
          if (raw.length < 64 * 1024) raw += d
        })
        res.on('error', (err) => resolve({ ok: false, problem: err.message }))
        res.on('end', () => {
          const statusCode = res.statusCode ?? 0
          let body: unknown
          try {
            body = JSON.parse(raw)
          } catch {
            return resolve({ ok: false, statusCode, raw, problem: `HTTP ${statusCode} with a body that is not JSON` })
          }
          const b = body as Partial<HealthBody> | null
          if (!b || typeof b !== 'object' || typeof b.status !== 'string' || typeof b.version !== 'string') {
            return resolve({ ok: false, statusCode, raw, problem: `HTTP ${statusCode} without a health report` })
          }
          if (statusCode !== 200 || !ANSWERING_STATUSES.includes(b.status)) {
            return resolve({ ok: false, statusCode, raw, problem: `HTTP ${statusCode}, status "${b.status}" (version ${b.version})` })
          }
          resolve({ ok: true, statusCode, body: b as HealthBody, raw: raw.trim() })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ ok: false, problem: err.code === 'ECONNREFUSED' ? `nothing listens on ${healthUrl(host, port)}` : `${healthUrl(host, port)}: ${err.message}` })
    })
    req.end()
  })
}
