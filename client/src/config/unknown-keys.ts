// Keys in config.toml that this cco does not know: still loaded and kept (a newer cco may have
// written them), but named in one warning each, with the nearest known key, because a typo
// (`updates.chanel`) otherwise silently leaves the default in force.
import type { Logger } from '../system/logger.ts'
import { PublicKeySchema } from '../../../contract/manifest.ts'
import { DaemonSchema, FleetSchema, NetworkSchema, TrustSchema, UpdatesSchema } from './schema.ts'

const TABLES: Readonly<Record<string, readonly string[]>> = {
  updates: Object.keys(UpdatesSchema.shape),
  daemon: Object.keys(DaemonSchema.shape),
  network: Object.keys(NetworkSchema.shape),
  trust: Object.keys(TrustSchema.shape),
  fleet: Object.keys(FleetSchema.shape),
}
/** The fields of one `[[trust.keys]]` table. */
const TRUST_KEY_FIELDS = Object.keys(PublicKeySchema.shape)

/** Every key cco reads, as `table.key` (`fleet.labels` is a free table of the user's labels). */
export const KNOWN_KEYS: readonly string[] = [
  ...Object.entries(TABLES).flatMap(([t, keys]) => keys.map((k) => `${t}.${k}`)),
  ...TRUST_KEY_FIELDS.map((f) => `trust.keys.${f}`),
]

export interface UnknownKey {
  /** `updates.chanel`, `update` (a whole table), `trust.keys.kidd` */
  key: string
  /** The nearest known key or table, when one is close enough to be a likely typo. */
  suggestion: string | null
}

function table(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? (v as Record<string, unknown>) : null
}

/** The unknown keys of a parsed file, in file order. Values of the wrong type are the schema's business. */
export function unknownConfigKeys(raw: Record<string, unknown>): UnknownKey[] {
  const found: string[] = []
  for (const [name, value] of Object.entries(raw)) {
    const known = TABLES[name]
    if (!known) {
      found.push(name)
      continue
    }
    for (const key of Object.keys(table(value) ?? {})) {
      if (!known.includes(key)) found.push(`${name}.${key}`)
    }
  }
  const trustKeys = table(raw.trust)?.keys
  if (Array.isArray(trustKeys)) {
    for (const entry of trustKeys) {
      for (const field of Object.keys(table(entry) ?? {})) {
        const key = `trust.keys.${field}`
        if (!TRUST_KEY_FIELDS.includes(field) && !found.includes(key)) found.push(key)
      }
    }
  }
  return found.map((key) => ({ key, suggestion: nearestKnown(key) }))
}

/**
 * The known key (or table) nearest to `key`. The last part is compared with every known key's
 * last part, so a key in the wrong table (`[daemon] channel`) points to where it belongs; a tie
 * goes to the same table. Close enough means at most a third of the name's letters differ.
 */
export function nearestKnown(key: string): string | null {
  const parts = key.split('.')
  const leaf = parts.at(-1)!
  const tableOf = (k: string) => k.slice(0, k.lastIndexOf('.'))
  const sameTable = parts.slice(0, -1).join('.')
  // A top-level name may be a misspelt table (`[update]`) or a key outside its table.
  const candidates = parts.length === 1 ? [...Object.keys(TABLES), ...KNOWN_KEYS] : KNOWN_KEYS
  let best: { key: string; distance: number; same: boolean } | null = null
  for (const candidate of candidates) {
    const distance = editDistance(leaf, candidate.includes('.') ? candidate.slice(candidate.lastIndexOf('.') + 1) : candidate)
    const same = candidate.includes('.') ? tableOf(candidate) === sameTable : parts.length === 1
    if (!best || distance < best.distance || (distance === best.distance && same && !best.same)) best = { key: candidate, distance, same }
  }
  if (!best || best.distance > Math.max(1, Math.floor(leaf.length / 3))) return null
  return best.key === key ? null : best.key
}

/**
 * Damerau–Levenshtein distance in its optimal-string-alignment form: insertions, deletions,
 * substitutions and swaps of two neighbours (`prot` → `port`) each count 1. By UTF-16 unit,
 * which is all config key names need.
 */
export function editDistance(a: string, b: string): number {
  // Keys from a hostile file may be long; past this the answer is "far" in any case.
  if (Math.abs(a.length - b.length) > 8 || a.length > 256 || b.length > 256) return Number.POSITIVE_INFINITY
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

// Warnings go to whoever the entry point names (the CLI's stderr logger), once per key and file
// in a process: the daemon re-reads its config on every check and must not repeat itself.
let sink: Pick<Logger, 'warn'> | null = null
const warned = new Set<string>()

/** Called once by the entry point; without it (library use, tests of pure parts) nothing is printed. */
export function reportUnknownConfigKeysTo(logger: Pick<Logger, 'warn'> | null): void {
  sink = logger
}

/** Shown as it is in the file, shortened: the logger escapes it, the length is ours to bound. */
const shown = (key: string) => (key.length > 80 ? `${key.slice(0, 77)}...` : key)

export function warnUnknownConfigKeys(raw: Record<string, unknown>, path: string): void {
  if (!sink) return
  for (const u of unknownConfigKeys(raw)) {
    const id = `${path}\0${u.key}`
    if (warned.has(id)) continue
    warned.add(id)
    const hint = u.suggestion ? `did you mean ${u.suggestion}?` : 'not a key this cco knows'
    sink.warn(`warning: unknown key ${shown(u.key)} in ${path} (${hint}); it is ignored and kept`)
  }
}
