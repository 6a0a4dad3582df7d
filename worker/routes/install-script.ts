// `GET /install.sh`: the POSIX sh installer (worker/install/install.sh) with this broker's
// public URL, product, channels and manifest signing keys written in, so that
// `curl -fsSL https://BROKER/install.sh | sh` trusts exactly the keys this broker signs with
// (the same ones /.well-known/jwks.json lists) and refuses a manifest that another key signed.
import { Hono } from 'hono'
import { CHANNELS } from '../../contract/manifest.ts'
import type { AppEnv } from '../app-env.ts'
import template from '../install/install.sh'
import { renderInstallScript } from '../install/render.ts'
import { loadSigningKeys } from '../signing.ts'

export const installScript = new Hono<AppEnv>()

installScript.get('/install.sh', async (c) => {
  const config = c.var.config
  const keys = await loadSigningKeys(c.env)
  const body = renderInstallScript(template, {
    brokerUrl: config.publicUrl,
    product: config.product,
    channels: CHANNELS,
    keys: keys.publicJwks.map((k) => k.x),
  })
  return c.body(body, 200, {
    'content-type': 'text/x-shellscript; charset=utf-8',
    // Short, as the JWKS: a key rotation reaches new installs within five minutes.
    'cache-control': 'public, max-age=300',
    'x-content-type-options': 'nosniff',
  })
})
