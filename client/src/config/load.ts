// Reads config.toml: a missing file means defaults, a malformed one is a usage error (exit 2).
import { readFileSync } from 'node:fs'
import { parse } from '@decimalturn/toml-patch'
import { errnoCode, messageOf, UsageError } from '../errors.ts'
import { redactCredentials } from '../system/url-policy.ts'
import { ConfigSchema, describeIssues, type Config } from './schema.ts'

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

export function loadConfig(path: string): LoadedConfig {
  let text: string | null
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw new UsageError(`cannot read config file ${path}: ${messageOf(err)}`, { cause: err })
    text = null
  }
  const raw = text === null ? {} : parseToml(text, path)
  return { path, text, raw, config: validateConfig(raw, path) }
}
