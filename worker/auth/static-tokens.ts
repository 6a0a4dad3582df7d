// Static tokens: the admin API's (ADMIN_TOKEN_HASHES) and the fleet reports' (FLEET_TOKEN_HASHES).
// Each secret lists `name:sha256hex` entries, so no plaintext token is stored anywhere. A
// presented token is hashed and compared with EVERY entry in constant time, without stopping at
// a match: the answer's timing says nothing about which entry matched or how much of a hash a
// guess got right.
import { ConfigError } from '../errors.ts'

export interface TokenHash {
  /** Goes into the audit log as `token:<name>` (admin tokens). */
  name: string
  /** The SHA-256 of the token's UTF-8 bytes. */
  hash: Uint8Array
}

const ENTRY = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63}):([0-9a-fA-F]{64})$/

/** The entries of a token secret (ADMIN_TOKEN_HASHES unless named); errors name the entry's position, never its text. */
export function parseTokenHashes(raw: string | undefined, secret = 'ADMIN_TOKEN_HASHES'): TokenHash[] {
  const entries: TokenHash[] = []
  const parts = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)
  for (const [i, part] of parts.entries()) {
    const m = ENTRY.exec(part)
    if (!m) throw new ConfigError(`secret ${secret}: entry ${i + 1} is not name:sha256hex (a name of letters, digits, '.', '_', '-' and 64 hex digits)`)
    const name = m[1]!
    if (entries.some((e) => e.name === name)) throw new ConfigError(`secret ${secret}: the name ${JSON.stringify(name)} is listed twice`)
    entries.push({ name, hash: hexBytes(m[2]!.toLowerCase()) })
  }
  return entries
}

/** The name of the entry the token hashes to, or null. */
export async function matchToken(token: string, entries: readonly TokenHash[]): Promise<string | null> {
  const presented = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)))
  let match: string | null = null
  for (const entry of entries) {
    // Both sides are 32 bytes; the loop visits every entry whatever matched before.
    if (crypto.subtle.timingSafeEqual(presented, entry.hash)) match = entry.name
  }
  return match
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
