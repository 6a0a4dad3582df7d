// `npm run webhook -- FILE [--event release] [--url URL] [--delivery ID]`: posts a webhook
// payload file to the local broker, signed with the secret in .dev.vars (or the environment's
// GITHUB_WEBHOOK_SECRET) exactly as GitHub would, and prints the answer.
import { createHmac, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { readDevVars } from './lib/dev-vars.ts'

const ROOT = resolve(import.meta.dirname, '..')
const USAGE = 'usage: npm run webhook -- FILE [--event release] [--url http://127.0.0.1:8787/webhooks/github] [--delivery ID]'

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      event: { type: 'string', default: 'release' },
      url: { type: 'string', default: 'http://127.0.0.1:8787/webhooks/github' },
      delivery: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}
const { values, positionals } = parsed
if (values.help || positionals.length !== 1) {
  console.error(USAGE)
  process.exit(values.help ? 0 : 2)
}

const secret = process.env.GITHUB_WEBHOOK_SECRET || readDevVars(join(ROOT, '.dev.vars'))?.GITHUB_WEBHOOK_SECRET
if (!secret) {
  console.error('No webhook secret: run `npm start` once to create .dev.vars, or set GITHUB_WEBHOOK_SECRET.')
  process.exit(2)
}

let body: string
try {
  body = readFileSync(positionals[0]!, 'utf8')
} catch (err) {
  console.error(`cannot read ${positionals[0]}: ${(err as Error).message}`)
  process.exit(2)
}

const delivery = values.delivery ?? randomUUID()
const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
let res: Response
try {
  res = await fetch(values.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/cco-dev',
      'x-github-event': values.event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': signature,
    },
    body,
  })
} catch (err) {
  console.error(`cannot reach ${values.url}: ${(err as Error).message} (is \`npm start\` running?)`)
  process.exit(3)
}
console.error(`delivery ${delivery} → ${values.url}`)
console.log(`HTTP ${res.status}`)
console.log(await res.text())
process.exitCode = res.ok ? 0 : 1
