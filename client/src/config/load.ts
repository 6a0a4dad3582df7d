// Reads config.toml: a missing file means defaults, a malformed one is a usage error (exit 2),
// and so is a file that sets what cco trusts while someone else can change it. Unknown keys
// are kept and warned about (unknown-keys.ts).
import { readFileSync } from 'node:fs'
import { parse } from '@decimalturn/toml-patch'
import { errnoCode, messageOf, UsageError } from '../errors.ts'
import { requireTrustedFile } from '../system/file-trust.ts'
import { redactCredentials } from '../system/url-policy.ts'
import { ConfigSchema, describeIssues, type Config } from './schema.ts'
import { warnUnknownConfigKeys } from './unknown-keys.ts'

export interface LoadedConfig {
  path: string
  /** The file's text, or null when it does not exist. */
  text: string | null
  /** Everything the file holds, unknown keys included (what `config set` patches). */
  raw: Record<string, unknown>
  config: Config
}

export function parseToml(text: string, path: string): Record<string, unknown> {
  try {
    const raw: unknown = parse(text, { integersAsBigInt: false })
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a TOML table')
    return raw as Record<string, unknown>
  } catch (err) {
    // The parser quotes the offending line, which may hold a proxy URL with its password.
    const why = redactCredentials(messageOf(err).replace(/\s+/g, ' ').trim())
    throw new UsageError(`config file ${path} is not valid TOML: ${why}`, { cause: err })
  }
}

export function validateConfig(raw: Record<string, unknown>, path: string): Config {
  const result = ConfigSchema.safeParse(raw)
  if (!result.success) throw new UsageError(`invalid config file ${path}: ${describeIssues(result.error, raw)}`)
  return result.data
}

function table(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? (v as Record<string, unknown>) : null
}

/**
 * The keys of a parsed file that decide what cco trusts: where releases come from
 * (`updates.server`), how it gets there (`network.*`: proxy, no_proxy, ca_file), which keys
 * sign them (`trust.keys`) and the secret sent with fleet reports (`fleet.token`: whoever can
 * change it decides which fleet this host reports to). A file that sets none of them cannot
 * make cco trust anything new.
 */
export function trustBearingKeys(raw: Record<string, unknown>): string[] {
  const keys: string[] = []
  if (table(raw.updates)?.server !== undefined) keys.push('updates.server')
  if (table(raw.fleet)?.token !== undefined) keys.push('fleet.token')
  const network = table(raw.network)
  if (network) keys.push(...Object.keys(network).map((k) => `network.${k}`))
  else if (raw.network !== undefined) keys.push('network')
  const trust = table(raw.trust)
  if (trust) keys.push(...Object.keys(trust).map((k) => `trust.${k}`))
  else if (raw.trust !== undefined) keys.push('trust')
  return keys
}

/**
 * The rule of system/file-trust.ts for the config: a file that sets trust-bearing keys is
 * refused as a whole when someone else can change it (or its directories), and so is the CA
 * bundle it names. Everything else in a shared file (schedule, channel, port) is still read.
 */
export function checkConfigTrust(raw: Record<string, unknown>, config: Config, path: string, o: { replacing?: boolean } = {}): void {
  const keys = trustBearingKeys(raw)
  // `replacing`: cco is about to write the file itself (a new file, ours, 0644 at most), so
  // only the directories that hold it matter.
  if (keys.length > 0) requireTrustedFile(path, 'config file', `it sets ${keys.join(', ')}`, { directoriesOnly: o.replacing })
  const ca = config.network.ca_file
  // A CA file that cannot be read is reported where it is read (system/http.ts).
  if (ca) requireTrustedFile(ca, 'network.ca_file', `it decides which TLS certificates cco trusts (set in ${path})`)
}

export function loadConfig(path: string): LoadedConfig {
  let text: string | null
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new UsageError(`cannot read config file ${path}: ${messageOf(err)}`, { cause: err })
    text = null
  }
  const raw = text === null ? {} : parseToml(text, path)
  // A typo'd key is not an error (a newer cco may have written it), but it must not pass unseen.
  warnUnknownConfigKeys(raw, path)
  const config = validateConfig(raw, path)
  checkConfigTrust(raw, config, path)
  return { path, text, raw, config }
}
