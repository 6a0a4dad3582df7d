// Reads and writes the git-ignored `.dev.vars` file that `wrangler dev` loads secrets from
// (dotenv syntax), and makes the development admin token whose hash goes into it. Values are
// single-quoted so that JSON (the signing JWK) stays literal.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'

export function parseDevVars(text: string): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!m || line.trimStart().startsWith('#')) continue
    let value = m[2]!.trim()
    if ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"'))) value = value.slice(1, -1)
    vars[m[1]!] = value
  }
  return vars
}

export function readDevVars(path: string): Record<string, string> | null {
  try {
    return parseDevVars(readFileSync(path, 'utf8'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** Writes the file readable by its owner only (it holds secrets); fails if it exists. */
export function writeDevVars(path: string, header: string, vars: Record<string, string>): void {
  const lines = header.split('\n').map((l) => `# ${l}`.trimEnd())
  for (const [name, value] of Object.entries(vars)) {
    if (value.includes("'") || value.includes('\n')) throw new Error(`${name}: value cannot be written single-quoted`)
    lines.push(`${name}='${value}'`)
  }
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600, flag: 'wx' })
}

/** Adds one variable to an existing file, keeping every other line as it is. */
export function appendDevVar(path: string, name: string, value: string): void {
  if (value.includes("'") || value.includes('\n')) throw new Error(`${name}: value cannot be written single-quoted`)
  const text = readFileSync(path, 'utf8')
  writeFileSync(path, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${name}='${value}'\n`, { mode: 0o600 })
}

/**
 * A new random admin API token and the `name:sha256hex` entry the broker's ADMIN_TOKEN_HASHES
 * keeps instead of it. The token has no dots, so the broker never mistakes it for an OIDC JWT.
 */
export function newAdminToken(name: string): { token: string; entry: string } {
  const token = `cco_admin_${randomBytes(32).toString('base64url')}`
  return { token, entry: adminTokenEntry(name, token) }
}

/** `name:sha256hex` of a token, as ADMIN_TOKEN_HASHES lists it. */
export function adminTokenEntry(name: string, token: string): string {
  return `${name}:${createHash('sha256').update(token).digest('hex')}`
}
