// `npm start`: runs the broker locally with `wrangler dev` on 127.0.0.1:8787 and state kept in
// .wrangler/state. On first run it creates the git-ignored .dev.vars with a random webhook
// secret, a fresh Ed25519 signing key, the status page's session key and the hash of a new admin
// token (whose plaintext goes to the git-ignored .dev.admin-token), and prints what a GitHub
// webhook, a client and a release engineer need. Extra arguments go to wrangler
// (`npm start -- --var STABLE_FROM_RELEASES:true`). CCO_DEV_DIR moves .dev.vars,
// .dev.admin-token and the state out of the checkout (a second broker, a test).
//
// It runs as the process `npm start` started (the script ends in `exec`), so a signal sent to
// npm reaches this process, and this process stops wrangler and workerd before it exits: it
// forwards SIGINT/SIGTERM/SIGHUP to wrangler, and stops it too when its own parent dies (npm
// killed with SIGKILL), which no signal announces.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { constants } from 'node:os'
import { join, resolve } from 'node:path'
import { generateDevSecrets, newStatusSessionKey } from './lib/dev-secrets.ts'
import { appendDevVar, newAdminToken, readDevVars, writeDevVars } from './lib/dev-vars.ts'

const ROOT = resolve(import.meta.dirname, '..')
const DEV_DIR = process.env.CCO_DEV_DIR ? resolve(process.env.CCO_DEV_DIR) : ROOT
const DEV_VARS = join(DEV_DIR, '.dev.vars')
const ADMIN_TOKEN_FILE = join(DEV_DIR, '.dev.admin-token')
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

const args = [WRANGLER, 'dev', '--persist-to', join(DEV_DIR, '.wrangler/state')]
// wrangler reads .dev.vars only beside wrangler.toml; elsewhere it is passed as an env file.
if (DEV_DIR !== ROOT) args.push('--env-file', DEV_VARS)
if (ip) args.push('--ip', ip)
if (port) args.push('--port', port)
// Asset URLs in manifests point at this broker, so PUBLIC_URL follows the chosen port.
if (port && !extra.some((a) => a.startsWith('PUBLIC_URL:'))) args.push('--var', `PUBLIC_URL:${origin}`)
args.push(...extra)

// Not a process group of its own (which would make killing the whole tree one call): wrangler
// reads its keyboard shortcuts from the terminal, and a background group that reads the
// terminal is stopped by SIGTTIN. wrangler stops workerd when it gets SIGINT/SIGTERM/SIGHUP;
// the processes below it, noted when the stop begins, are killed if they outlive it.
const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit' })
const parent = process.ppid
const STOP_GRACE_MS = 10_000
let below: ProcessId[] = []
let stopping = false

function stop(signal: NodeJS.Signals): void {
  if (stopping) {
    // A second signal (Ctrl-C twice): no more waiting.
    killAll([...below, ...(child.pid ? [processId(child.pid)] : [])], 'SIGKILL')
    return
  }
  stopping = true
  below = child.pid ? descendants(child.pid) : []
  child.kill(signal)
  setTimeout(() => stop('SIGKILL'), STOP_GRACE_MS).unref()
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal))
// No signal says that the parent died; its pid changing (to init or a subreaper) does.
const watchParent = setInterval(() => {
  if (process.ppid !== parent) stop('SIGTERM')
}, 500)

child.on('exit', (code, signal) => {
  clearInterval(watchParent)
  // Whatever of wrangler's tree is still running now has lost its parent: end it.
  killAll(below, 'SIGKILL')
  process.exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1)
})

/** A pid with its start time, so that a pid reused by an unrelated process is left alone. */
interface ProcessId {
  pid: number
  start: string | null
}

function processId(pid: number): ProcessId {
  return { pid, start: statOf(pid)?.start ?? null }
}

/** ppid and start time from /proc/PID/stat (Linux); null elsewhere or when it is gone. */
function statOf(pid: number): { ppid: number; start: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(fields[1]), start: fields[19] ?? '' }
  } catch {
    return null
  }
}

/** Every process below `root`, from /proc; none where there is no /proc (wrangler's own cleanup then has to do). */
function descendants(root: number): ProcessId[] {
  let pids: number[]
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number)
  } catch {
    return []
  }
  const children = new Map<number, number[]>()
  for (const pid of pids) {
    const ppid = statOf(pid)?.ppid
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid])
  }
  const found: ProcessId[] = []
  const queue = [root]
  while (queue.length) {
    for (const pid of children.get(queue.shift()!) ?? []) {
      found.push(processId(pid))
      queue.push(pid)
    }
  }
  return found
}

function killAll(ids: readonly ProcessId[], signal: NodeJS.Signals): void {
  for (const id of ids) {
    if (id.start !== null && statOf(id.pid)?.start !== id.start) continue
    try {
      process.kill(id.pid, signal)
    } catch {}
  }
}

function publicPart(raw: string | undefined): { kid: string; x: string } | null {
  try {
    const parsed: unknown = JSON.parse(raw ?? '')
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as { kid?: unknown; x?: unknown } | undefined
    return typeof first?.kid === 'string' && typeof first.x === 'string' ? { kid: first.kid, x: first.x } : null
  } catch {
    return null
  }
}
