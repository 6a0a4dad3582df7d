// Reads and writes the git-ignored `.dev.vars` file that `wrangler dev` loads secrets from
// (dotenv syntax). Values are single-quoted so that JSON (the signing JWK) stays literal.
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
