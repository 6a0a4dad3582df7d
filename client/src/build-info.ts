// Constants fixed when the client is bundled (esbuild `define`), with fallbacks for runs from source.
// It imports nothing, so that `cco --version` (the self-test probe) loads nothing else.

// esbuild replaces these identifiers with literals; from source they are simply undeclared,
// which `typeof` tolerates without a ReferenceError.
declare const __CCO_VERSION__: string | undefined
declare const __CCO_DEFAULT_SERVER__: string | undefined
declare const __CCO_TRUST_KEYS__: unknown
declare const __CCO_BUILD__: string | undefined
declare const __CCO_MANAGED_BY__: string | undefined

export type BuildKind = 'dev' | 'release'

/** The version this client reports and compares against manifests (`0.0.0-dev` from source). */
export const VERSION: string = typeof __CCO_VERSION__ === 'undefined' ? '0.0.0-dev' : __CCO_VERSION__

/** The broker used when the config names none. */
export const DEFAULT_SERVER: string =
  typeof __CCO_DEFAULT_SERVER__ === 'undefined' ? 'http://127.0.0.1:8787' : __CCO_DEFAULT_SERVER__

export const BUILD: BuildKind =
  typeof __CCO_BUILD__ !== 'undefined' && __CCO_BUILD__ === 'release' ? 'release' : 'dev'

/**
 * Manifest signing keys built into this binary, unvalidated (see update/trust-keys.ts). They
 * are trusted in addition to the `[[trust.keys]]` of the config.
 */
export const BUILTIN_TRUST_KEYS_RAW: unknown = typeof __CCO_TRUST_KEYS__ === 'undefined' ? [] : __CCO_TRUST_KEYS__

/**
 * The command that upgrades this binary when a package manager installed it (`--managed-by` at
 * build time, e.g. `brew upgrade cco`), else null. cco never replaces such a file itself
 * (update/managed.ts).
 */
export const MANAGED_BY: string | null = typeof __CCO_MANAGED_BY__ === 'undefined' || __CCO_MANAGED_BY__ === '' ? null : __CCO_MANAGED_BY__
