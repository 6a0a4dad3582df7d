// Liveness and the public signing keys. The JWKS is for people and tooling; clients trust only
// the keys pinned in their configuration, never this endpoint.
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { loadSigningKeys } from '../signing.ts'

export const wellKnown = new Hono<AppEnv>()

wellKnown.get('/health', (c) => c.json({ status: 'ok', product: c.env.PRODUCT }))

wellKnown.get('/.well-known/jwks.json', async (c) => {
  const keys = await loadSigningKeys(c.env)
  c.header('cache-control', 'public, max-age=300')
  return c.json({ keys: keys.publicJwks })
})
