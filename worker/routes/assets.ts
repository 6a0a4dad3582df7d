// `GET /v1/assets/{version}/{name}`: the one URL hosts download from. Without an R2 mirror it
// redirects to the download URL recorded when the release was published.
import { Hono } from 'hono'
import type { AppEnv } from '../app-env.ts'
import { brokerStub } from '../broker/stub.ts'
import { notFound } from '../errors.ts'

export const assets = new Hono<AppEnv>()

assets.get('/:version/:name', async (c) => {
  const { version, name } = c.req.param()
  const source = await brokerStub(c.env, c.var.config.product).assetSource(version, name)
  if (!source) throw notFound(`asset ${JSON.stringify(name)} of release ${JSON.stringify(version)}`)
  // Short: a withdrawn or replaced asset should stop being redirected to soon.
  c.header('cache-control', 'public, max-age=300')
  return c.redirect(source, 302)
})
