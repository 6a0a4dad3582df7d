// `npm run demo`: the whole loop on this machine in under a minute, in a temporary directory.
// A local broker (real `wrangler dev`), a stand-in for GitHub's download host, two cco builds
// A and B packed as release archives; webhook A → promote → install A into a temporary HOME
// → start the daemon → webhook B → `cco release promote B` → the daemon updates itself to B.
// Every step is one narrated line; any failure stops the demo with a non-zero exit, and every
// process it started is stopped.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { currentPlatform } from '../client/src/context.ts'
import { startBroker, type DevBroker } from '../support/broker.ts'
import { makeHome } from '../support/cco-home.ts'
import { childEnv, SOURCE_ENTRY } from '../support/cco-process.ts'
import { announceRelease } from '../support/announce-release.ts'
import { freePort } from '../support/ports.ts'
import { startReleaseServer, type ReleaseServer } from '../support/release-server.ts'
import { bundleClient } from './lib/bundle-client.ts'

const A = '2026.11.1'
const B = '2026.11.2'
const started = Date.now()
const bold = (s: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1m${s}\x1b[0m` : s)
let step = 0
const say = (line: string) => process.stdout.write(`${bold(`[${String(++step).padStart(2)}] ${((Date.now() - started) / 1000).toFixed(1).padStart(4)} s`)}  ${line}\n`)
const show = (text: string) => process.stdout.write(text.trimEnd().replace(/^/gm, '        │ ') + '\n')

const run = promisify(execFile)
const cleanups: (() => Promise<unknown> | unknown)[] = []

async function cleanUp(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c()
    } catch {}
  }
}
// A reader that goes away (`npm run demo | head`) must not leave the broker and daemon behind.
process.stdout.on('error', () => {})
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\ndemo interrupted (${signal}); stopping everything it started\n`)
    void cleanUp().then(() => process.exit(130))
  })
}

async function main(): Promise<void> {
  const platform = currentPlatform()
  if (!platform) throw new Error(`cco has no builds for ${process.platform}/${process.arch}`)
  const work = mkdtempSync(join(tmpdir(), 'cco-demo-'))
  cleanups.push(() => rmSync(work, { recursive: true, force: true }))

  const downloads: ReleaseServer = await startReleaseServer()
  cleanups.push(() => downloads.close())
  const broker: DevBroker = await startBroker({ vars: { ASSET_HOSTS: '127.0.0.1' } })
  cleanups.push(() => broker.stop())
  if (!broker.adminToken) throw new Error('the local broker has no admin token')
  say(`broker (wrangler dev) on ${broker.url}; download host on ${downloads.url}; working in ${work}`)

  // Two real cco builds that trust this broker's key; each is packed like a release archive
  // (cco-<version>-<platform>.tar.gz) when it is announced.
  const builds: Record<string, string> = {}
  for (const version of [A, B]) {
    builds[version] = join(work, `cco-${version}`)
    await bundleClient({ version, outfile: builds[version], defaultServer: broker.url, trustKeys: [broker.secrets.publicKey] })
  }
  say(`built cco ${A} and ${B} (one-file bundles that pin this broker's key)`)

  const announce = async (version: string) => {
    const { hook: res } = await announceRelease(broker, downloads, { version, binary: builds[version]!, body: `cco ${version}: the demo release`, platform })
    const answer = (await res.json()) as { status?: string; channels?: Record<string, number> }
    if (answer.status !== 'published') throw new Error(`the broker did not publish ${version}: ${JSON.stringify(answer)}`)
    say(`GitHub webhook "release published" for v${version} → on beta (seq ${answer.channels?.beta ?? '?'})`)
  }

  // The host: a temporary HOME whose config points at the local broker and pins its key.
  const host = makeHome('cco-demo-home-')
  cleanups.push(() => host.cleanup())
  const port = await freePort()
  mkdirSync(dirname(host.configFile), { recursive: true })
  writeFileSync(
    host.configFile,
    [
      '[updates]',
      `server = "${broker.url}"`,
      'channel = "stable"',
      'auto_install = true',
      'check_interval = "2s"',
      '',
      '[daemon]',
      `port = ${port}`,
      '',
      '[[trust.keys]]',
      `kid = "${broker.secrets.publicKey.kid}"`,
      `x = "${broker.secrets.publicKey.x}"`,
      '',
    ].join('\n'),
  )
  const env = childEnv(host.home, { CCO_ADMIN_TOKEN: broker.adminToken })
  const cco = async (args: string[], bin = host.installPath) => {
    const [cmd, argv] = bin.endsWith('.ts') ? [process.execPath, [bin, ...args]] : [bin, args]
    const r = await run(cmd, argv, { env: { ...env, CCO_INSTALL_PATH: host.installPath }, cwd: host.home, timeout: 60_000 })
    return r.stdout
  }

  await announce(A)
  show(await cco(['release', 'promote', A], SOURCE_ENTRY))
  say(`cco release promote ${A} → stable`)

  show(await cco(['update', '--yes'], SOURCE_ENTRY))
  say(`installed ${A} into ${host.installPath} with \`cco update --yes\` (verified signature, size and sha256)`)
  show(await cco(['version']))

  cleanups.push(() => run(host.installPath, ['daemon', 'stop'], { env, cwd: host.home }).catch(() => undefined))
  show(await cco(['daemon', 'start']))
  say(`daemon started on 127.0.0.1:${port}, auto_install on, checking every 2 s`)

  await announce(B)
  show(await cco(['release', 'promote', B]))
  say(`cco release promote ${B} → stable; waiting for the daemon to update itself…`)

  const deadline = Date.now() + 40_000
  let health: { version?: string } = {}
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`)
      health = (await res.json()) as { version?: string }
      if (health.version === B) break
    } catch {
      // the port is briefly closed during the handover
    }
    await sleep(250)
  }
  if (health.version !== B) throw new Error(`the daemon did not move to ${B} in time (health: ${JSON.stringify(health)})`)
  say(`the daemon now runs ${B}:`)
  show(await cco(['version']))
  show(await cco(['daemon', 'status']))
  show(JSON.stringify(health))
  const logs = await cco(['daemon', 'logs', '-n', '200'])
  show(logs.split('\n').filter((l) => /update|version|Restarted|Downloading|Verifying|Installing/i.test(l)).join('\n'))
  say(`${host.backupPath} keeps ${A} for \`cco rollback\`; stopping everything`)
}

let code = 0
try {
  await main()
} catch (err) {
  code = 1
  process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`)
  const e = err as { stdout?: string; stderr?: string }
  if (e.stdout) process.stderr.write(e.stdout)
  if (e.stderr) process.stderr.write(e.stderr)
} finally {
  await cleanUp()
}
if (code === 0) say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
process.exit(code)
