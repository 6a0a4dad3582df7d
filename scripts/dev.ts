// `npm start`: runs the broker locally with `wrangler dev` on 127.0.0.1:8787 and state kept in
// .wrangler/state. On first run it creates the git-ignored .dev.vars with a random webhook
// secret, a fresh Ed25519 signing key, the status page's session key and the hash of a new admin
// token (whose plaintext goes to the git-ignored .dev.admin-token), and prints what a GitHub
// webhook, a client and a release engineer need. Extra arguments go to wrangler
// (`npm start -- --var STABLE_FROM_RELEASES:true`).
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, writeFileSync } from 'node:fs'
import { constants } from 'node:os'
import { join, resolve } from 'node:path'
import { generateDevSecrets, newStatusSessionKey } from './lib/dev-secrets.ts'
import { appendDevVar, newAdminToken, readDevVars, writeDevVars } from './lib/dev-vars.ts'

const ROOT = resolve(import.meta.dirname, '..')
const DEV_VARS = join(ROOT, '.dev.vars')
const ADMIN_TOKEN_FILE = join(ROOT, '.dev.admin-token')
const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js')

const extra = process.argv.slice(2)
const has = (flag: string) => extra.some((a) => a === flag || a.startsWith(`${flag}=`))
const ip = has('--ip') ? null : '127.0.0.1'
const port = has('--port') ? null : (process.env.PORT ?? '8787')

let vars = readDevVars(DEV_VARS)
let adminToken: string | null = null
if (!vars) {
  const secrets = await generateDevSecrets()
  const admin = newAdminToken('dev')
  const created = {
    GITHUB_WEBHOOK_SECRET: secrets.webhookSecret,
    MANIFEST_SIGNING_KEY: JSON.stringify(secrets.signingKey),
    ADMIN_TOKEN_HASHES: admin.entry,
    STATUS_SESSION_KEY: secrets.statusSessionKey,
  }
  writeDevVars(DEV_VARS, 'Local development secrets for `npm start` (git-ignored, created on first run).\nDelete this file to generate new ones; clients must then pin the new public key.', created)
  vars = created
  adminToken = admin.token
  console.log(`Created ${DEV_VARS} with new development secrets (shown once):\n`)
  console.log(`  GITHUB_WEBHOOK_SECRET = ${secrets.webhookSecret}\n`)
} else {
  console.log(`Using the development secrets in ${DEV_VARS} (delete it to generate new ones).\n`)
  if (!vars.ADMIN_TOKEN_HASHES) {
    // A .dev.vars from before the admin API: add the token's hash, keep everything else.
    const admin = newAdminToken('dev')
    appendDevVar(DEV_VARS, 'ADMIN_TOKEN_HASHES', admin.entry)
    vars.ADMIN_TOKEN_HASHES = admin.entry
    adminToken = admin.token
  }
  if (!vars.STATUS_SESSION_KEY) {
    // A .dev.vars from before the status page: add its session key.
    vars.STATUS_SESSION_KEY = newStatusSessionKey()
    appendDevVar(DEV_VARS, 'STATUS_SESSION_KEY', vars.STATUS_SESSION_KEY)
  }
}
if (adminToken) {
  writeFileSync(ADMIN_TOKEN_FILE, `${adminToken}\n`, { mode: 0o600 })
  chmodSync(ADMIN_TOKEN_FILE, 0o600)
  console.log(`Admin API token "dev" (shown once; its hash is in .dev.vars, the token in ${ADMIN_TOKEN_FILE}):\n`)
  console.log(`  export CCO_ADMIN_TOKEN=${adminToken}\n`)
} else if (existsSync(ADMIN_TOKEN_FILE)) {
  console.log(`Admin API token: export CCO_ADMIN_TOKEN=$(cat ${ADMIN_TOKEN_FILE})\n`)
}

const publicKey = publicPart(vars.MANIFEST_SIGNING_KEY)
if (publicKey) {
  console.log(`Manifest signing key: kid ${publicKey.kid}, public key (x) ${publicKey.x}`)
  console.log('Clients pin it in ~/.config/cco/config.toml:\n')
  console.log(`  [[trust.keys]]\n  kid = "${publicKey.kid}"\n  x = "${publicKey.x}"\n`)
}
const origin = `http://${ip ?? '127.0.0.1'}:${port ?? '8787'}`
console.log(`Broker: ${origin}  (webhook: ${origin}/webhooks/github, manifest: ${origin}/v1/channels/beta/manifest, status page: ${origin}/status)`)
console.log('Try it: npm run webhook -- path/to/release-payload.json\n')

const args = [WRANGLER, 'dev', '--persist-to', join(ROOT, '.wrangler/state')]
if (ip) args.push('--ip', ip)
if (port) args.push('--port', port)
// Asset URLs in manifests point at this broker, so PUBLIC_URL follows the chosen port.
if (port && !extra.some((a) => a.startsWith('PUBLIC_URL:'))) args.push('--var', `PUBLIC_URL:${origin}`)
args.push(...extra)

const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => child.kill(signal))
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1)
})

function publicPart(raw: string | undefined): { kid: string; x: string } | null {
  try {
    const parsed: unknown = JSON.parse(raw ?? '')
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as { kid?: unknown; x?: unknown } | undefined
    return typeof first?.kid === 'string' && typeof first.x === 'string' ? { kid: first.kid, x: first.x } : null
  } catch {
    return null
  }
}
