// Starts the real broker (`wrangler dev` running workerd) on a free loopback port with fresh
// secrets (an admin API token, the status page's session key and, when asked, a fleet report
// token) and its own persisted state, for end-to-end tests that drive it over HTTP.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { generateDevSecrets, type DevSecrets } from '../scripts/lib/dev-secrets.ts'
import { adminTokenEntry, newAdminToken } from '../scripts/lib/dev-vars.ts'
import { freePort } from './ports.ts'

const ROOT = resolve(import.meta.dirname, '..')
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js')

export interface BrokerOptions {
  /** Extra or overriding vars/secrets, passed as `--var NAME:VALUE`. */
  vars?: Record<string, string>
  /** Reuse a state directory (to restart a broker over the same state). */
  persistDir?: string
  /** Reuse secrets (to restart a broker with the same keys). */
  secrets?: DevSecrets
  /** Reuse an admin token (to restart a broker that accepts the same one). */
  adminToken?: string
  /**
   * Take fleet reports (`POST /v1/reports`): FLEET_TOKEN_HASHES with one token, `e2e-hosts`; true
   * for a new token, or the token to reuse. Off by default, as on a broker without the secret.
   */
  fleetReports?: boolean | string
  /** Another wrangler configuration (e.g. one with an R2 bucket for the asset mirror). */
  configPath?: string
  port?: number
}

export interface DevBroker {
  url: string
  port: number
  secrets: DevSecrets
  /** A bearer token for the admin API (audit actor `token:e2e`). */
  adminToken: string
  /** A bearer token for `POST /v1/reports` (null: the broker takes no reports, `fleetReports`). */
  fleetToken: string | null
  persistDir: string
  /** Everything wrangler and workerd printed so far (for failure messages). */
  output(): string
  /** Signs a payload with the broker's webhook secret and posts it to /webhooks/github. */
  sendWebhook(event: string, payload: unknown, deliveryId?: string): Promise<Response>
  /** Runs the scheduled handler once (wrangler's `/__scheduled` test route). */
  runScheduled(): Promise<void>
  stop(): Promise<void>
}

export async function startBroker(options: BrokerOptions = {}): Promise<DevBroker> {
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const secrets = options.secrets ?? (await generateDevSecrets())
  const admin = options.adminToken ? { token: options.adminToken, entry: adminTokenEntry('e2e', options.adminToken) } : newAdminToken('e2e')
  const fleetToken = options.fleetReports === true ? `cco_fleet_${randomBytes(32).toString('base64url')}` : options.fleetReports || null
  const ownsState = !options.persistDir
  const persistDir = options.persistDir ?? mkdtempSync(join(tmpdir(), 'cco-broker-'))
  const vars: Record<string, string> = {
    PUBLIC_URL: url,
    GITHUB_WEBHOOK_SECRET: secrets.webhookSecret,
    MANIFEST_SIGNING_KEY: JSON.stringify(secrets.signingKey),
    ADMIN_TOKEN_HASHES: admin.entry,
    STATUS_SESSION_KEY: secrets.statusSessionKey,
    ...(fleetToken ? { FLEET_TOKEN_HASHES: adminTokenEntry('e2e-hosts', fleetToken) } : {}),
    ...options.vars,
  }
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', persistDir]
  if (options.configPath) args.push('--config', options.configPath)
  args.push('--test-scheduled', '--show-interactive-dev-session=false', '--log-level', 'warn')
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`)

  let log = ''
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true, // own process group, so stop() also ends workerd
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1' },
  })
  child.stdout!.on('data', (d) => (log += d))
  child.stderr!.on('data', (d) => (log += d))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {}
      }, 3000)
      await exited
      clearTimeout(timer)
    }
    if (ownsState) rmSync(persistDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`)
    try {
      const res = await fetch(`${url}/health`)
      await res.arrayBuffer()
      if (res.ok) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`wrangler dev did not answer /health within 30 s:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 150))
  }

  return {
    url,
    port,
    secrets,
    adminToken: admin.token,
    fleetToken,
    persistDir,
    output: () => log,
    sendWebhook(event, payload, deliveryId = randomUUID()) {
      const body = JSON.stringify(payload)
      const signature = 'sha256=' + createHmac('sha256', secrets.webhookSecret).update(body).digest('hex')
      return fetch(`${url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': event,
          'x-github-delivery': deliveryId,
          'x-hub-signature-256': signature,
          'user-agent': 'GitHub-Hookshot/test',
        },
        body,
      })
    },
    async runScheduled() {
      const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent('*/30 * * * *')}`)
      await res.arrayBuffer()
      if (!res.ok) throw new Error(`scheduled run failed: ${res.status}`)
    },
    stop,
  }
}
