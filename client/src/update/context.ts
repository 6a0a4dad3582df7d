// Everything a check or an install needs, derived from the app context and the config: the
// channel and broker, the pinned keys, the HTTP stack and the host id.
import type { Channel, PublicKey } from '../../../contract/manifest.ts'
import type { Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { createHttpClient, type HttpClient } from '../system/http.ts'
import { ensureHostId } from '../system/host-id.ts'
import type { ProgressBar } from '../system/progress.ts'
import { noHooks, type UpdateHooks } from './hooks.ts'
import type { RecordContext } from './records.ts'
import { pinnedKeys } from './trust-keys.ts'


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
  /** `cco update --full`: download the archive even when a differential update is offered. */
  fullDownload?: boolean
}

export interface UpdateContextOptions {
  channel?: Channel
  /** What joins an install (update/hooks.ts); none unless the caller passes some. */
  hooks?: UpdateHooks
  progress?: UpdateContext['progress']
  fullDownload?: boolean
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
    fullDownload: options.fullDownload,
  }
}
