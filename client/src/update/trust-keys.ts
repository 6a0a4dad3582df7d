// The keys a manifest may be signed with: those built into the binary plus `[[trust.keys]]`.
// Nothing fetched from the network is ever added here (the JWKS endpoint is for humans).
import { PublicKeySchema, type PublicKey } from '../../../contract/manifest.ts'
import { BUILTIN_TRUST_KEYS_RAW } from '../build-info.ts'
import type { Config } from '../config/schema.ts'

/** A malformed build-time list is a build bug, so it throws. */
export function builtinTrustKeys(): PublicKey[] {
  if (!Array.isArray(BUILTIN_TRUST_KEYS_RAW)) throw new Error('build-info: __CCO_TRUST_KEYS__ must be an array')
  return BUILTIN_TRUST_KEYS_RAW.map((k) => PublicKeySchema.parse(k))
}

/** Built-in keys plus `[[trust.keys]]`; a built-in kid cannot be redefined by the config. */
export function pinnedKeys(config: Config): PublicKey[] {
  const byKid = new Map<string, PublicKey>()
  for (const k of builtinTrustKeys()) byKid.set(k.kid, k)
  for (const k of config.trust.keys) if (!byKid.has(k.kid)) byKid.set(k.kid, { kid: k.kid, x: k.x })
  return [...byKid.values()]
}
