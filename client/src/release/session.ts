// Everything a `cco release …` command needs: the broker (`--server` or `updates.server`), the
// HTTP stack configured like `cco update`'s (proxy, CA bundle), and the admin token, read only
// when a request needs it (`status` works without one).
import { readFileSync } from 'node:fs'
import { loadConfig } from '../config/load.ts'
import { serverProblem } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { messageOf, UsageError } from '../errors.ts'
import { envValue } from '../system/env.ts'
import { requireTrustedFile, shellWord } from '../system/file-trust.ts'
import { createHttpClient } from '../system/http.ts'
import { createAdminApi, type AdminApi } from './admin-api.ts'
import { TOKEN_HINT } from './admin-errors.ts'

export interface ReleaseConnectionOptions {
  /** `--server URL`: overrides `updates.server`. */
  server?: string
  /** `--token-file FILE`: the token is its first line; wins over CCO_ADMIN_TOKEN. */
  tokenFile?: string
}

export interface ReleaseSession {
  api: AdminApi
  close(): Promise<void>
}

export function openReleaseSession(app: AppContext, options: ReleaseConnectionOptions): ReleaseSession {
  const { config } = loadConfig(app.paths.configFile)
  let server = config.updates.server
  if (options.server !== undefined) {
    const problem = serverProblem(options.server)
    if (problem) throw new UsageError(`invalid --server ${JSON.stringify(options.server)}: ${problem}`)
    server = options.server
  }
  const http = createHttpClient({
    env: app.env,
    userAgent: `cco/${app.version}`,
    proxy: config.network.proxy,
    noProxy: config.network.no_proxy,
    caFile: config.network.ca_file,
  })
  let token: string | undefined
  const api = createAdminApi({ server, http, token: () => (token ??= adminToken(app, options.tokenFile)) })
  return { api, close: () => http.close() }
}

/** Runs `use` with the admin API, closing the HTTP stack afterwards whatever happens. */
export async function withAdminApi<T>(app: AppContext, options: ReleaseConnectionOptions, use: (api: AdminApi) => Promise<T>): Promise<T> {
  const session = openReleaseSession(app, options)
  try {
    return await use(session.api)
  } finally {
    await session.close()
  }
}

/** The bearer token from `--token-file` or CCO_ADMIN_TOKEN; never echoed anywhere. */
export function adminToken(app: AppContext, tokenFile: string | undefined): string {
  let token: string
  let source: string
  if (tokenFile !== undefined) {
    source = `token file ${tokenFile}`
    let text: string
    try {
      text = readFileSync(tokenFile, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read --token-file ${tokenFile}: ${messageOf(err)}`, { cause: err })
    }
    checkTokenFile(app, tokenFile)
    token = (text.split(/\r?\n/, 1)[0] ?? '').trim()
    if (!token) throw new UsageError(`${source} is empty (the token is its first line)`)
  } else {
    source = 'CCO_ADMIN_TOKEN'
    const fromEnv = envValue(app.env, 'CCO_ADMIN_TOKEN')?.trim()
    if (!fromEnv) throw new UsageError(`this command needs an admin token: ${TOKEN_HINT}`)
    token = fromEnv
  }
  // Only visible ASCII fits in a header; saying which character would leak part of the token.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`the admin token from ${source} contains spaces or characters that cannot be sent in a header`)
  return token
}

/**
 * The token file follows the rule of system/file-trust.ts: one that someone else can change is
 * refused (exit 2). One that others can read is a leaked token: warn (like ssh does for keys)
 * but go on, since refusing would not make the token secret again and would stop an automated job.
 */
function checkTokenFile(app: AppContext, file: string): void {
  const t = requireTrustedFile(file, 'token file', 'it holds the admin token cco sends')
  if (t.mode !== null && t.mode & 0o077) {
    app.logger.warn(`warning: token file ${file} is readable by other users (mode ${t.mode.toString(8).padStart(4, '0')}); restrict it with: chmod 600 ${shellWord(file)}`)
  }
}
