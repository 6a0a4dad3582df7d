// Writes config.toml: patches values in place (comments, order and unknown keys survive),
// re-validates the result and replaces the file atomically, or leaves it untouched.
import { statSync } from 'node:fs'
import { patch } from '@decimalturn/toml-patch'
import { UsageError } from '../errors.ts'
import { writeFileAtomic } from '../system/fs-atomic.ts'
import { checkConfigTrust, loadConfig, parseToml, validateConfig, type LoadedConfig } from './load.ts'
import { keySpec } from './keys.ts'
import type { Config } from './schema.ts'

const NEW_FILE_HEADER = '# cco configuration. `cco config set KEY VALUE` edits it and keeps your comments.\n'

export interface ValueChange {
  /** `updates.channel` */
  key: string
  /** undefined removes the key */
  value: string | number | boolean | undefined
  /** The tables and key in the file, when not `key` split at its dots. */
  path?: readonly string[]
}

function clone(raw: Record<string, unknown>): Record<string, unknown> {
  // structuredClone keeps the TOML date classes as plain Dates, which patch() writes back as dates.
  return structuredClone(raw)
}

function applyChange(obj: Record<string, unknown>, change: ValueChange): void {
  const parts = [...(change.path ?? change.key.split('.'))]
  const leaf = parts.pop()!
  let cur = obj
  for (const p of parts) {
    const next = cur[p]
    if (next === undefined) {
      if (change.value === undefined) return
      cur[p] = {}
    } else if (next === null || typeof next !== 'object' || Array.isArray(next) || next instanceof Date) {
      throw new UsageError(`cannot set ${change.key}: ${parts.join('.')} in the config file is not a table`)
    }
    cur = cur[p] as Record<string, unknown>
  }
  if (change.value === undefined) delete cur[leaf]
  else cur[leaf] = change.value
}

/** Applies changes and writes the file; throws (file untouched) if the result is invalid. */
export function writeConfigChanges(path: string, changes: readonly ValueChange[]): Config {
  const loaded: LoadedConfig = loadConfig(path)
  const updated = clone(loaded.raw)
  for (const c of changes) applyChange(updated, c)
  const text = patch(loaded.text ?? NEW_FILE_HEADER, updated)
  // Read back what we are about to write: a patching bug must not corrupt the file.
  const raw = parseToml(text, path)
  const config = validateConfig(raw, path)
  // The rewritten file is never writable by group or others (it would be refused once it sets
  // a trust-bearing key); a directory that others can write still refuses such a change here.
  let mode = 0o644
  try {
    mode = statSync(path).mode & 0o755
  } catch {}
  // A file that holds the fleet token is a secret: readable by its owner only.
  if (config.fleet.token !== undefined) mode &= 0o700
  checkConfigTrust(raw, config, path, { replacing: true })
  writeFileAtomic(path, text.endsWith('\n') ? text : `${text}\n`, { mode })
  return config
}

/** `cco config set KEY VALUE`: validates the key and the value first. */
export function setConfigValue(path: string, key: string, input: string): { key: string; value: string } {
  const spec = keySpec(key)
  if (spec.readOnly || !spec.parse) throw new UsageError(`${key} cannot be set: ${spec.readOnly ?? 'read-only'}`)
  const value = spec.parse(input)
  const config = writeConfigChanges(path, [{ key, value, path: spec.path }])
  return { key, value: spec.show(config) }
}
