// Builds the broker's Hono app: mounts one sub-app per resource and turns every error into
// the JSON error body (`{"error":{"code","message"}}`) in one place. Unknown errors become a bare 500 `internal`:
// their details go to the log, never to the caller.
import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ErrorBody } from '../contract/api.ts'
import type { AppEnv } from './app-env.ts'
import { loadConfig } from './config.ts'
import { ApiError } from './errors.ts'
import { admin } from './routes/admin.ts'
import { assets } from './routes/assets.ts'
import { channels } from './routes/channels.ts'
import { download } from './routes/download.ts'
import { fleet } from './routes/fleet.ts'
import { installScript } from './routes/install-script.ts'
import { releases } from './routes/releases.ts'
import { status } from './routes/status.tsx'
import { webhooks } from './routes/webhooks.ts'
import { wellKnown } from './routes/wellknown.ts'

const CODES: Partial<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_request',
}

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  // Everything except /health needs the parsed vars; a bad var is a clear 500 `misconfigured`.
  app.use('*', async function withConfig(c, next) {
    if (c.req.path !== '/health') c.set('config', loadConfig(c.env))
    await next()
  })

  app.route('/', wellKnown)
  app.route('/webhooks', webhooks)
  app.route('/v1/channels', channels)
  app.route('/v1/channels', download)
  app.route('/', installScript)
  app.route('/v1/releases', releases)
  app.route('/v1/assets', assets)
  // Admin routes (POSTs under /v1/channels and /v1/releases, GET /v1/audit); each carries
  // its own authentication, so the public reads above stay open.
  app.route('/v1', admin)
  app.route('/v1', fleet)
  // The status page (HTML): its own sign-in, headers and error pages.
  app.route('/status', status)

  app.notFound((c) => c.json<ErrorBody>({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404))

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json<ErrorBody>({ error: { code: err.code, message: err.message } }, err.status)
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode
      return c.json<ErrorBody>({ error: { code: CODES[status] ?? 'error', message: err.message || 'request failed' } }, status)
    }
    console.error(`${c.req.method} ${c.req.path} failed:`, err)
    return c.json<ErrorBody>({ error: { code: 'internal', message: 'internal error' } }, 500)
  })

  return app
}
