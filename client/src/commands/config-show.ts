// `cco config show`: the effective configuration, defaults included.
import { loadConfig } from '../config/load.ts'
import { windowsOf } from '../config/window.ts'
import type { AppContext } from '../context.ts'
import { envAny, envValue } from '../system/env.ts'
import { redactUrl } from '../system/url-policy.ts'
import { builtinTrustKeys } from '../update/trust-keys.ts'

export interface ConfigView {
  path: string
  exists: boolean
  updates: {
    enabled: boolean
    auto_install: boolean
    check_interval: string
    channel: string
    server: string
    last_check: string | null
    last_update: string | null
    /** The maintenance windows as cco shows them (`Tue 02:00-03:00 UTC`); empty when none. */
    window: string[]
  }
  daemon: { host: string; port: number }
  network: {
    proxy: string | null
    no_proxy: string | null
    ca_file: string | null
    /** What the environment says, for when the config does not override it. */
    environment: { http_proxy: string | null; https_proxy: string | null; no_proxy: string | null }
  }
  trust: { keys: { kid: string; source: 'config' | 'built-in' }[] }
  fleet: {
    report: boolean
    /** Where the fleet token comes from (CCO_FLEET_TOKEN wins), null when there is none; never the token itself. */
    token: 'environment' | 'config' | null
    name: string | null
    labels: Record<string, string>
  }
}

export function configShowCommand(app: AppContext): ConfigView {
  const { config, text, path } = loadConfig(app.paths.configFile)
  const iso = (d: Date | null) => (d ? d.toISOString() : null)
  const redact = (v: string | undefined) => (v === undefined ? null : redactUrl(v))
  const builtin = builtinTrustKeys()
  return {
    path,
    exists: text !== null,
    updates: {
      enabled: config.updates.enabled,
      auto_install: config.updates.auto_install,
      check_interval: config.updates.check_interval,
      channel: config.updates.channel,
      server: config.updates.server,
      last_check: iso(config.updates.last_check),
      last_update: iso(config.updates.last_update),
      window: windowsOf(config.updates.window).map((w) => w.text),
    },
    daemon: { host: config.daemon.host, port: config.daemon.port },
    network: {
      // Proxy URLs may carry credentials: never print them.
      proxy: redact(config.network.proxy),
      no_proxy: config.network.no_proxy ?? null,
      ca_file: config.network.ca_file ?? null,
      environment: {
        http_proxy: redact(envAny(app.env, 'http_proxy', 'HTTP_PROXY')),
        https_proxy: redact(envAny(app.env, 'https_proxy', 'HTTPS_PROXY')),
        no_proxy: envAny(app.env, 'no_proxy', 'NO_PROXY') ?? null,
      },
    },
    trust: {
      keys: [
        ...builtin.map((k) => ({ kid: k.kid, source: 'built-in' as const })),
        ...config.trust.keys.filter((k) => !builtin.some((b) => b.kid === k.kid)).map((k) => ({ kid: k.kid, source: 'config' as const })),
      ],
    },
    fleet: {
      report: config.fleet.report,
      token: envValue(app.env, 'CCO_FLEET_TOKEN') !== undefined ? 'environment' : config.fleet.token !== undefined ? 'config' : null,
      name: config.fleet.name ?? null,
      labels: config.fleet.labels,
    },
  }
}
