// Everything a check or an install needs, derived from the app context and the config: the
// channel and broker, the pinned keys, the HTTP stack and the host id.
import type { Channel, PublicKey } from '../../../contract/manifest.ts'
import { BUILTIN_TRUST_KEYS } from '../build-info.ts'
import type { Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { createHttpClient, type HttpClient } from '../system/http.ts'
import { ensureHostId } from '../system/host-id.ts'
import { noHooks, type UpdateHooks } from './hooks.ts'
import type { RecordContext } from './records.ts'

export interface ProgressBar {
  update(received: number): void
  stop(): void
}

export interface UpdateContext extends AppContext, RecordContext {
  config: Config
  channel: Channel
  server: string
  trustKeys: readonly PublicKey[]
  http: HttpClient
  hostId: string
  hooks: UpdateHooks
  /** A progress bar for a download of `total` bytes (CLI on a terminal), or none. */
  progress?: (label: string, total: number) => ProgressBar
  /** Download timeouts (defaults in download.ts). */
  downloadStallMs?: number
  downloadDeadlineMs?: number
}

export interface UpdateContextOptions {
  channel?: Channel
  hooks?: UpdateHooks
  progress?: UpdateContext['progress']
}

/** Built-in keys plus `[[trust.keys]]`; a config key with a built-in kid must match it. */
export function pinnedKeys(config: Config): PublicKey[] {
  const byKid = new Map<string, PublicKey>()
  for (const k of BUILTIN_TRUST_KEYS) byKid.set(k.kid, k)
  for (const k of config.trust.keys) if (!byKid.has(k.kid)) byKid.set(k.kid, { kid: k.kid, x: k.x })
  return [...byKid.values()]
}

export function createUpdateContext(app: AppContext, config: Config, configPath: string, options: UpdateContextOptions = {}): UpdateContext {
  return {
    ...app,
    config,
    configPath,
    updatesLog: app.paths.updatesLog,
    channel: options.channel ?? config.updates.channel,
    server: config.updates.server,
    trustKeys: pinnedKeys(config),
    http: createHttpClient({
      env: app.env,
      userAgent: `cco/${app.version}`,
      proxy: config.network.proxy,
      noProxy: config.network.no_proxy,
      caFile: config.network.ca_file,
    }),
    hostId: ensureHostId(app.paths.hostIdFile),
    hooks: options.hooks ?? noHooks,
    progress: options.progress,
  }
}
