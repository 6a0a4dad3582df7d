// The broker's vars parsed once per environment, with errors that name the var and say what
// is expected. Secrets are read where they are used (signing.ts, routes/webhooks.ts) and their
// values never appear in an error message.
import { ConfigError } from './errors.ts'
import { firstControlChar, quote } from './policy/control-chars.ts'
import { checkUrl, redactCredentials } from './policy/url-policy.ts'

export interface BrokerConfig {
  /** `owner/name`, compared case-insensitively; the only repository accepted. */
  repository: string
  product: string
  /** Public origin of the broker without a trailing slash (asset URLs, cache keys). */
  publicUrl: string
  /** Hosts allowed in release asset URLs: a hostname, or `host:port` for one port only. */
  assetHosts: AssetHost[]
  stableFromReleases: boolean
  manifestTtlDays: number
  minBetaSoakHours: number
  /** GitHub Actions OIDC for the admin API; null when OIDC_AUDIENCE is empty (disabled). */
  oidc: OidcConfig | null
  /** Base URL of GitHub's REST API, without a trailing slash (reconciliation). */
  githubApiUrl: string
}

export interface OidcConfig {
  /** The `iss` a token must carry. */
  issuer: string
  /** Where the issuer's signing keys are fetched from. */
  jwksUrl: string
  /** The `aud` a token must carry (the workflow asks for it when minting the token). */
  audience: string
  /** `owner/name` the `repository` claim must equal (case-insensitive). */
  repository: string
  /** Allowed `ref` claims: exact, or a prefix when the entry ends with `*`. */
  refs: string[]
  /** The `repository_id` claim must equal this (survives a rename or a re-created repository); null: not checked. */
  repositoryId: string | null
  /** Allowed `job_workflow_ref` claims (the workflow file and its ref), as `refs`; null: not checked. */
  workflowRefs: string[] | null
}

export interface AssetHost {
  hostname: string
  /** Null: any port of the host. */
  port: string | null
}

type VarName =
  | 'GITHUB_REPOSITORY'
  | 'PRODUCT'
  | 'PUBLIC_URL'
  | 'ASSET_HOSTS'
  | 'STABLE_FROM_RELEASES'
  | 'MANIFEST_TTL_DAYS'
  | 'MIN_BETA_SOAK_HOURS'
  | 'OIDC_ISSUER'
  | 'OIDC_JWKS_URL'
  | 'OIDC_AUDIENCE'
  | 'OIDC_REPOSITORY'
  | 'OIDC_REFS'
  | 'OIDC_REPOSITORY_ID'
  | 'OIDC_WORKFLOW_REFS'
  | 'GITHUB_API_URL'
export type ConfigVars = Partial<Record<VarName, string>>

const DEFAULT_ASSET_HOSTS = 'github.com,objects.githubusercontent.com,release-assets.githubusercontent.com'
export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com'
const DEFAULT_GITHUB_API_URL = 'https://api.github.com'

const cache = new WeakMap<object, BrokerConfig>()

/** The parsed configuration; cached per `env` object, so each isolate parses it once. */
export function loadConfig(env: ConfigVars): BrokerConfig {
  let config = cache.get(env)
  if (!config) {
    config = parseConfig(env)
    cache.set(env, config)
  }
  return config
}

export function parseConfig(env: ConfigVars): BrokerConfig {
  const repository = (env.GITHUB_REPOSITORY ?? '').trim()
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) {
    throw new ConfigError(`var GITHUB_REPOSITORY must be "owner/name" (got ${JSON.stringify(env.GITHUB_REPOSITORY ?? '')})`)
  }
  const product = (env.PRODUCT ?? 'cco').trim()
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(product)) {
    throw new ConfigError(`var PRODUCT must be a short lowercase name (got ${JSON.stringify(env.PRODUCT)})`)
  }
  return {
    repository,
    product,
    publicUrl: parsePublicUrl(env.PUBLIC_URL),
    assetHosts: parseAssetHosts(env.ASSET_HOSTS ?? DEFAULT_ASSET_HOSTS),
    stableFromReleases: parseBoolean('STABLE_FROM_RELEASES', env.STABLE_FROM_RELEASES ?? 'false'),
    manifestTtlDays: parseNumber('MANIFEST_TTL_DAYS', env.MANIFEST_TTL_DAYS ?? '7', { min: 1 / 24, max: 365 }),
    minBetaSoakHours: parseNumber('MIN_BETA_SOAK_HOURS', env.MIN_BETA_SOAK_HOURS ?? '0', { min: 0, max: 24 * 365 }),
    oidc: parseOidc(env, repository),
    githubApiUrl: urlVar('GITHUB_API_URL', env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL),
  }
}

function parseOidc(env: ConfigVars, repository: string): OidcConfig | null {
  const audience = (env.OIDC_AUDIENCE ?? '').trim()
  if (audience === '') return null
  // The issuer is compared with `iss` exactly as written; it is checked against the URL rule.
  const issuer = (env.OIDC_ISSUER || GITHUB_OIDC_ISSUER).trim()
  const issuerUrl = urlVar('OIDC_ISSUER', issuer)
  const jwksUrl = urlVar('OIDC_JWKS_URL', env.OIDC_JWKS_URL || `${issuerUrl}/.well-known/jwks`)
  const oidcRepository = (env.OIDC_REPOSITORY ?? '').trim() || repository
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(oidcRepository)) {
    throw new ConfigError(`var OIDC_REPOSITORY must be "owner/name" (got ${JSON.stringify(env.OIDC_REPOSITORY)})`)
  }
  const refs = (env.OIDC_REFS || 'refs/heads/main').split(',').map((r) => r.trim()).filter(Boolean)
  for (const ref of refs) {
    // A `*` only as the last character: a prefix match, nothing cleverer.
    if (!/^refs\/[^*\s]*\*?$/.test(ref)) throw new ConfigError(`var OIDC_REFS: ${JSON.stringify(ref)} is not a ref such as refs/heads/main or refs/tags/v*`)
  }
  if (refs.length === 0) throw new ConfigError('var OIDC_REFS must list at least one ref')
  const repositoryId = (env.OIDC_REPOSITORY_ID ?? '').trim() || null
  if (repositoryId !== null && !/^[1-9][0-9]{0,19}$/.test(repositoryId)) {
    throw new ConfigError(`var OIDC_REPOSITORY_ID must be the repository's numeric id (gh api repos/OWNER/NAME --jq .id; got ${JSON.stringify(env.OIDC_REPOSITORY_ID)})`)
  }
  const workflowRefs = (env.OIDC_WORKFLOW_REFS ?? '').split(',').map((r) => r.trim()).filter(Boolean)
  for (const ref of workflowRefs) {
    // owner/repo/path@ref as GitHub writes `job_workflow_ref`; a `*` only as the last character.
    if (!/^[^\s/*]+\/[^\s/*]+\/[^\s*]+\*?$/.test(ref) || !(ref.includes('@') || ref.endsWith('*'))) {
      throw new ConfigError(`var OIDC_WORKFLOW_REFS: ${JSON.stringify(ref)} is not a workflow ref such as owner/repo/.github/workflows/promote.yml@refs/heads/main (a trailing * matches any rest)`)
    }
  }
  return { issuer, jwksUrl, audience, repository: oidcRepository, refs, repositoryId, workflowRefs: workflowRefs.length > 0 ? workflowRefs : null }
}

/**
 * Every URL-valued var goes through here: the broker's one URL rule (policy/url-policy.ts:
 * https, plain http only to a loopback host, no credentials, no control character or space),
 * and no query or fragment. The value is echoed with any credentials blanked out.
 */
function parseUrlVar(name: VarName, raw: string, expected = 'an https URL'): URL {
  const value = raw.trim()
  const checked = checkUrl(value)
  if (checked.ok && !checked.url.search && !checked.url.hash) return checked.url
  const problem = checked.ok ? 'has a query or fragment' : checked.problem
  throw new ConfigError(`var ${name} must be ${expected} (plain http only for localhost, 127.0.0.0/8 or [::1]); it ${problem} (got ${quote(redactCredentials(value))})`)
}

/** A URL var's value as the broker uses it: without a trailing slash. */
function urlVar(name: VarName, raw: string): string {
  return parseUrlVar(name, raw).href.replace(/\/+$/, '')
}

function parsePublicUrl(raw: string | undefined): string {
  const url = parseUrlVar('PUBLIC_URL', raw ?? '', "the broker's public origin, e.g. https://updates.example.com")
  return (url.origin + url.pathname).replace(/\/+$/, '')
}

export function parseAssetHosts(raw: string): AssetHost[] {
  const hosts: AssetHost[] = []
  for (const entry of raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    // Parse through URL so that IPv6 literals (`[::1]:8080`) and ports are handled alike; a
    // control character is refused first, as the parser would silently drop a tab or newline.
    const bad = new ConfigError(`var ASSET_HOSTS: ${quote(entry)} is not a host or host:port`)
    if (firstControlChar(entry) !== null || /\s/.test(entry)) throw bad
    let url: URL
    try {
      url = new URL(`http://${entry}`)
    } catch {
      throw bad
    }
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) throw bad
    // `new URL` drops the port 80 of `http:`; an explicit :80 entry is kept as written.
    const port = url.port || (/:80$/.test(entry) ? '80' : null)
    hosts.push({ hostname: url.hostname, port })
  }
  if (hosts.length === 0) throw new ConfigError('var ASSET_HOSTS must list at least one host')
  return hosts
}

function parseBoolean(name: VarName, raw: string): boolean {
  const v = raw.trim().toLowerCase()
  if (v === 'true' || v === '1' || v === 'yes') return true
  if (v === 'false' || v === '0' || v === 'no' || v === '') return false
  throw new ConfigError(`var ${name} must be "true" or "false" (got ${JSON.stringify(raw)})`)
}

function parseNumber(name: VarName, raw: string, range: { min: number; max: number }): number {
  const n = Number(raw.trim())
  if (raw.trim() === '' || !Number.isFinite(n) || n < range.min || n > range.max) {
    throw new ConfigError(`var ${name} must be a number from ${+range.min.toFixed(3)} to ${range.max} (got ${JSON.stringify(raw)})`)
  }
  return n
}

/** The webhook secret, or a clear error naming it (never its value). */
export function webhookSecret(env: { GITHUB_WEBHOOK_SECRET?: string }): string {
  const s = env.GITHUB_WEBHOOK_SECRET
  if (!s || s.trim().length === 0) {
    throw new ConfigError('secret GITHUB_WEBHOOK_SECRET is not set (wrangler secret put GITHUB_WEBHOOK_SECRET, or .dev.vars locally)')
  }
  return s
}
