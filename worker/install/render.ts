// Fills the broker's own settings into the install script (install.sh): its public URL, the
// product, the channels and the public keys the script verifies manifests with. Pure, so the
// Worker serves it and tests can render variants (another key, another address) of the same
// file. Every value is written as one single-quoted sh word that nothing can break out of.

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

export interface InstallScriptSettings {
  /** The broker's public origin, without a trailing slash (PUBLIC_URL). */
  brokerUrl: string
  product: string
  channels: readonly string[]
  /** The `x` (base64url, 32 bytes) of each public Ed25519 key manifests are signed with. */
  keys: readonly string[]
}

/** The lines of the template the broker replaces, each exactly once. */
const SLOTS = ['CCO_BROKER_URL', 'CCO_PRODUCT', 'CCO_CHANNELS', 'CCO_TRUSTED_KEYS'] as const

export function renderInstallScript(template: string, s: InstallScriptSettings): string {
  const values: Record<(typeof SLOTS)[number], string> = {
    CCO_BROKER_URL: s.brokerUrl,
    CCO_PRODUCT: s.product,
    CCO_CHANNELS: s.channels.join(' '),
    CCO_TRUSTED_KEYS: s.keys.map(spkiBase64).join(' '),
  }
  let out = template
  for (const slot of SLOTS) {
    const line = `\n${slot}=''\n`
    // A template edited out of shape must fail here, loudly, not serve a script without keys.
    if (out.split(line).length !== 2) throw new Error(`install.sh: the line ${slot}='' must appear exactly once`)
    out = out.replace(line, () => `\n${slot}=${shellQuote(values[slot])}\n`)
  }
  return out
}

/**
 * One sh word with exactly this text: single quotes keep everything literal, and a single quote
 * itself is closed, escaped and reopened (`'\''`). A line break would stay literal too, but no
 * value here may have one: the settings are one line each.
 */
export function shellQuote(text: string): string {
  if (/[\0\r\n]/.test(text)) throw new Error('install.sh: a setting must be one line without NUL')
  return `'${text.replace(/'/g, `'\\''`)}'`
}

/** The base64 (standard, padded) of the key's DER SubjectPublicKeyInfo: the body of its PEM. */
export function spkiBase64(x: string): string {
  if (!/^[A-Za-z0-9_-]{43}$/.test(x)) throw new Error('install.sh: a public key must be 32 bytes of base64url')
  const raw = atob(x.replace(/-/g, '+').replace(/_/g, '/') + '=')
  const der = String.fromCharCode(...ED25519_SPKI_PREFIX) + raw
  return btoa(der)
}
