// Refuses a production deploy from a half-configured wrangler.toml: run by `npm run deploy` and
// by .github/workflows/deploy.yml before `wrangler deploy --env production`. It names every
// value still a placeholder (a string containing REPLACE_ME) and where to set it, and every
// top-level var or binding that [env.production] lacks (wrangler does not inherit vars,
// kv_namespaces, durable_objects or r2_buckets into an environment, so a var added at the top
// and forgotten below would silently be missing in production). Secrets are not in the file and
// not checked here (`wrangler secret list --env production` shows them).
//
//   node scripts/deploy-preflight.ts [path/to/wrangler.toml]     exit 0: ready, 1: refused
import { readFileSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { parse } from '@decimalturn/toml-patch'

const ENV = 'production'
export const PLACEHOLDER = 'REPLACE_ME'

type Table = Record<string, unknown>

const table = (v: unknown): Table | null => (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? (v as Table) : null)
const list = (v: unknown): Table[] => (Array.isArray(v) ? v.map(table).filter((t): t is Table => t !== null) : [])

/** Where a placeholder found at `path` (inside [env.production]) is set, and how to get the value. */
function hint(path: string, env: Table): string {
  const kv = /^kv_namespaces\[(\d+)\]\.id$/.exec(path)
  if (kv) {
    const binding = String(list(env.kv_namespaces)[Number(kv[1])]?.binding ?? '?')
    return `the id of the KV namespace for ${binding}: \`npx wrangler kv namespace create ${binding} --env ${ENV}\` prints it; set \`id\` in [[env.${ENV}.kv_namespaces]] (binding = "${binding}")`
  }
  const r2 = /^r2_buckets\[(\d+)\]\.bucket_name$/.exec(path)
  if (r2) return `an R2 bucket name: \`npx wrangler r2 bucket create NAME\`; set \`bucket_name\` in [[env.${ENV}.r2_buckets]]`
  if (path === 'vars.PUBLIC_URL') return `the broker's public origin, https://<the host in routes>; set PUBLIC_URL in [env.${ENV}.vars]`
  if (path.startsWith('routes')) return `the broker's host name (a custom domain in one of your zones); set \`pattern\` in \`routes\` under [env.${ENV}] (or delete \`routes\` and set \`workers_dev = true\`)`
  if (path.startsWith('vars.')) return `set ${path.slice('vars.'.length)} in [env.${ENV}.vars]`
  return `set it under [env.${ENV}]`
}

/** Every string under `value` that still holds the placeholder, as `kv_namespaces[0].id`. */
function placeholders(value: unknown, path: string, out: string[]): string[] {
  if (typeof value === 'string') {
    if (value.includes(PLACEHOLDER)) out.push(path)
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => placeholders(v, `${path}[${i}]`, out))
  } else if (table(value)) {
    for (const [k, v] of Object.entries(table(value)!)) placeholders(v, path ? `${path}.${k}` : k, out)
  }
  return out
}

/** The problems that keep `wrangler deploy --env production` from running, one line each; none means ready. */
export function deployProblems(toml: string): string[] {
  const config = parse(toml, { integersAsBigInt: false }) as Table
  const env = table(table(config.env)?.[ENV])
  if (!env) return [`there is no [env.${ENV}] table: add it (vars, kv_namespaces and durable_objects are not inherited from the top level)`]
  const problems = placeholders(env, '', []).map((path) => `env.${ENV}.${path} is a placeholder: ${hint(path, env)}`)

  const missing = (what: string, top: string[], here: string[], where: string) => {
    for (const name of top.filter((n) => !here.includes(n))) problems.push(`${what} ${name} is set at the top of wrangler.toml but not in ${where} (not inherited): add it there`)
  }
  missing('the var', Object.keys(table(config.vars) ?? {}), Object.keys(table(env.vars) ?? {}), `[env.${ENV}.vars]`)
  const names = (v: unknown, key: string) => list(v).map((t) => String(t[key]))
  missing('the KV binding', names(config.kv_namespaces, 'binding'), names(env.kv_namespaces, 'binding'), `[[env.${ENV}.kv_namespaces]]`)
  missing('the Durable Object binding', names(table(config.durable_objects)?.bindings, 'name'), names(table(env.durable_objects)?.bindings, 'name'), `[[env.${ENV}.durable_objects.bindings]]`)
  missing('the R2 binding', names(config.r2_buckets, 'binding'), names(env.r2_buckets, 'binding'), `[[env.${ENV}.r2_buckets]]`)

  const publicUrl = table(env.vars)?.PUBLIC_URL
  if (typeof publicUrl === 'string' && !publicUrl.includes(PLACEHOLDER) && !/^https:\/\/[^/\s]+$/.test(publicUrl)) {
    problems.push(`env.${ENV}.vars.PUBLIC_URL = ${JSON.stringify(publicUrl)} is not an https:// origin without a path or trailing slash: set it in [env.${ENV}.vars]`)
  }
  return problems
}

function main(): void {
  const path = resolve(process.argv[2] ?? resolve(import.meta.dirname, '..', 'wrangler.toml'))
  const shown = relative(process.cwd(), path) || path
  let problems: string[]
  try {
    problems = deployProblems(readFileSync(path, 'utf8'))
  } catch (err) {
    console.error(`deploy preflight: cannot read ${shown}: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
  if (problems.length > 0) {
    console.error(`deploy preflight: ${shown} is not ready for \`wrangler deploy --env ${ENV}\`; nothing was deployed. Fix:`)
    for (const p of problems) console.error(`  - ${p}`)
    process.exit(1)
  }
  console.log(`deploy preflight: ${shown} [env.${ENV}] has no placeholder left and every var and binding of the top level`)
}

if (import.meta.main) main()
