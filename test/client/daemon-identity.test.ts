// Nothing signals a pid just because the pid file names it: `cco daemon stop`, `restart` and
// `status` confirm with the kernel (owner, start time, /proc/<pid>/exe + command line) that the
// process is our `cco run`, and the daemon proves it wrote the pid file (an HMAC of a challenge
// keyed by the pid file's nonce). And `/health` answers only requests addressed to a loopback
// name (DNS rebinding): real daemons, real processes, raw HTTP requests with forged Host headers.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isLoopbackAuthority } from '../../client/src/daemon/health-server.ts'
import { isCcoDaemonCommand, kernelVerdict } from '../../client/src/system/daemon-identity.ts'
import { processStartTicks } from '../../client/src/system/process-info.ts'
import { runCco, show, spawnCco } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { daemonHost, isAlive, waitFor, type DaemonHost } from '../support/daemon-host.ts'

const VERSION = '2026.1.1'
const NOBODY = 65534
const asRoot = process.getuid?.() === 0

let bundle: string
const hosts: DaemonHost[] = []
const children: ChildProcess[] = []
beforeAll(async () => {
  bundle = await clientBundle({ version: VERSION })
}, 60_000)
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  await Promise.all(hosts.map((h) => h.teardown()))
}, 60_000)

async function host(): Promise<DaemonHost> {
  const h = await daemonHost({ installed: bundle })
  hosts.push(h)
  mkdirSync(h.stateDir, { recursive: true })
  return h
}

function sleeper(o: { uid?: number } = {}): number {
  const c = spawn('sleep', ['60'], { stdio: 'ignore', ...(o.uid !== undefined ? { uid: o.uid, gid: o.uid } : {}) })
  children.push(c)
  return c.pid!
}

/** A pid file as an attacker would forge it: every field copied from the victim process. */
function forgePidFile(h: DaemonHost, pid: number, binary: string): void {
  const record = {
    pid,
    port: h.port,
    host: '127.0.0.1',
    version: VERSION,
    started_at: new Date().toISOString(),
    binary,
    start_ticks: processStartTicks(pid),
    supervisor: null,
    nonce: randomBytes(32).toString('hex'),
  }
  writeFileSync(h.pidFile, JSON.stringify(record), { mode: 0o600 })
}

describe('a forged pid file naming a process that is not our daemon', () => {
  it('does not get an unrelated process killed by stop or restart, and status does not call it running', async () => {
    const h = await host()
    const pid = sleeper()
    // `binary: "sleep"` matches the victim's own command line, which an earlier check trusted.
    for (const binary of ['sleep', '/usr/bin/sleep', h.installPath]) {
      forgePidFile(h, pid, binary)
      const status = await h.cco(['daemon', 'status'])
      expect(status.code, show(status)).toBe(3)
      expect(status.stdout).toBe('Running: false\n')
      expect(status.stderr).toContain(`pid ${pid} is now another program (sleep 60), not a cco daemon`)

      forgePidFile(h, pid, binary)
      const stop = await h.cco(['daemon', 'stop'])
      expect(stop.code, show(stop)).toBe(0)
      expect(stop.stdout).toBe('cco daemon is not running\n')
      expect(isAlive(pid)).toBe(true)
    }

    // Without /proc, `ps` tells the same.
    expect(kernelVerdict(pid, null, { procfs: false })).toMatchObject({ kind: 'stale', why: `pid ${pid} is now another program (sleep 60), not a cco daemon` })

    forgePidFile(h, pid, 'sleep')
    const restart = await h.cco(['daemon', 'restart'])
    expect(restart.code, show(restart)).toBe(0)
    expect(isAlive(pid)).toBe(true)
    const daemon = h.pidRecord()!.pid
    expect(daemon).not.toBe(pid)
    expect(restart.stdout).toBe(`✅ cco daemon started (pid ${daemon}, port ${h.port})\n`)
    expect((await h.cco(['daemon', 'stop'])).code).toBe(0)
    expect(isAlive(pid)).toBe(true)
  })

  it('does not get another cco process (not a daemon) of the same user killed', async () => {
    const h = await host()
    writeFileSync(h.logFile, 'one line\n')
    const follower = spawnCco(h.installPath, ['daemon', 'logs', '--follow'], { home: h.home })
    children.push(follower)
    h.track(follower.pid)
    await waitFor('the follower to start', () => isAlive(follower.pid!) && readFileSync(`/proc/${follower.pid}/cmdline`, 'utf8').includes('logs'))
    forgePidFile(h, follower.pid!, h.installPath)
    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(isAlive(follower.pid!)).toBe(true)
    expect(stop.stderr).toContain('not a cco daemon')
  })

  it.runIf(asRoot)("refuses (exit 1) to signal another user's process and leaves the pid file", async () => {
    const h = await host()
    const pid = sleeper({ uid: NOBODY })
    expect(kernelVerdict(pid, null, { procfs: false })).toMatchObject({ kind: 'unsure', why: `pid ${pid} runs as uid ${NOBODY}, not as you (uid 0)` })
    forgePidFile(h, pid, 'sleep')
    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(1)
    expect(stop.stderr).toContain(`not stopping pid ${pid}: pid ${pid} runs as uid ${NOBODY}, not as you (uid 0); nothing was signalled and ${h.pidFile} was left as it is`)
    expect(isAlive(pid)).toBe(true)
    expect(existsSync(h.pidFile)).toBe(true)
    const restart = await h.cco(['daemon', 'restart'])
    expect(restart.code, show(restart)).toBe(1)
    expect(isAlive(pid)).toBe(true)
    const status = await h.cco(['daemon', 'status', '--json'])
    expect(status.code, show(status)).toBe(3)
    expect(JSON.parse(status.stdout)).toMatchObject({ running: false, pid: null, unconfirmed: expect.stringContaining(`runs as uid ${NOBODY}`) })
    expect(status.stderr).toContain(`the pid file names pid ${pid}, which is not confirmed as the cco daemon`)
    rmSync(h.pidFile)
  })
})

describe('a real daemon', () => {
  it('is stopped when its pid file is its own, and proves it holds the pid file nonce', async () => {
    const h = await host()
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const record = JSON.parse(readFileSync(h.pidFile, 'utf8')) as { pid: number; nonce: string }
    expect(statSync(h.pidFile).mode & 0o777).toBe(0o600)
    expect(record.nonce).toMatch(/^[0-9a-f]{64}$/)

    // The same answer from `ps`, as on a system without /proc (macOS).
    expect(kernelVerdict(record.pid, null, { procfs: false })).toEqual({ kind: 'ours' })
    expect(kernelVerdict(record.pid, null)).toEqual({ kind: 'ours' })

    const challenge = randomBytes(32).toString('hex')
    const proved = await rawHttp(h.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nx-cco-challenge: ${challenge}\r\nConnection: close\r\n\r\n`)
    expect(proved.status).toBe(200)
    const want = createHmac('sha256', record.nonce).update(`cco-daemon-proof:${record.pid}:${challenge}`).digest('hex')
    expect(proved.headers['x-cco-proof']).toBe(want)
    // The nonce itself never travels, and there is no proof without a challenge.
    expect(proved.raw).not.toContain(record.nonce)
    const plain = await rawHttp(h.port, `GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`)
    expect(plain.headers['x-cco-proof']).toBeUndefined()

    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(stop.stdout).toBe(`Stopped cco daemon (pid ${record.pid})\n`)
    expect(isAlive(record.pid)).toBe(false)
  })
})

describe('a real daemon installed under another name', () => {
  it('is still confirmed (it runs the same program as the cco that stops it) and stopped', async () => {
    const h = await host()
    const renamed = join(h.binDir, 'ccoctl')
    copyFileSync(bundle, renamed)
    chmodSync(renamed, 0o755)
    const run = (args: string[]) => runCco(renamed, args, { home: h.home })
    const start = await run(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pid = h.pidRecord()!.pid
    const status = await run(['daemon', 'status'])
    expect(status.code, show(status)).toBe(0)
    expect(status.stdout).toContain(`PID: ${pid}`)
    const stop = await run(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(stop.stdout).toBe(`Stopped cco daemon (pid ${pid})\n`)
    expect(isAlive(pid)).toBe(false)
  })
})

interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  raw: string
}

/** Sends bytes as they are (any Host, none, two) and reads the whole answer. */
function rawHttp(port: number, text: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text))
    let raw = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => (raw += d))
    s.on('error', reject)
    s.setTimeout(5_000, () => s.destroy(new Error(`no answer to ${JSON.stringify(text)}`)))
    s.on('close', () => {
      const [head = '', body = ''] = raw.split('\r\n\r\n')
      const [statusLine = '', ...lines] = head.split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body, raw })
    })
  })
}

/** Through node:http, which lets a Host header be set (fetch does not). */
function withHost(port: number, hostHeader: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', headers: { host: hostHeader }, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('/health and DNS rebinding', () => {
  let h: DaemonHost
  beforeAll(async () => {
    h = await host()
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
  }, 60_000)

  it('answers requests addressed to localhost, 127.x.x.x and [::1], with or without the port, in any case', async () => {
    const p = h.port
    for (const name of ['localhost', `localhost:${p}`, 'LocalHost', `LOCALHOST:${p}`, '127.0.0.1', `127.0.0.1:${p}`, '127.1.2.3', `127.255.255.254:${p}`, '[::1]', `[::1]:${p}`]) {
      const r = await withHost(p, name)
      expect(r.status, name).toBe(200)
      expect(JSON.parse(r.body)).toMatchObject({ status: 'ok', version: VERSION })
    }
  })

  it('answers 421 without any health data to every other Host', async () => {
    const p = h.port
    for (const name of [
      'localhost.evil.com',
      `localhost.evil.com:${p}`,
      '127.0.0.1.nip.io',
      `127.0.0.1.nip.io:${p}`,
      'evil.com',
      `attacker.example:${p}`,
      'localhost.',
      `localhost:${p}.evil.com`,
      'localhost:evil',
      '127.0.0.256',
      '127.0.0',
      '127.0.0.01',
      '0x7f.0.0.1',
      '2130706433',
      '128.0.0.1',
      '0.0.0.0',
      '[::1].evil.com',
      '[::2]',
      '[::ffff:127.0.0.1]',
      'user@localhost',
    ]) {
      const r = await withHost(p, name)
      expect(r.status, name).toBe(421)
      expect(r.body, name).not.toContain(VERSION)
      expect(r.body, name).not.toContain('uptime')
    }
  })

  it('answers 421 to an empty Host, a missing one (HTTP/1.0 too), two of them and an absolute target elsewhere', async () => {
    const p = h.port
    for (const text of [
      `GET /health HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n`,
      `GET /health HTTP/1.0\r\n\r\n`,
      `GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\nConnection: close\r\n\r\n`,
      `GET /health HTTP/1.1\r\nHost: evil.com\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      `GET http://evil.com/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`,
      `HEAD /health HTTP/1.1\r\nHost: rebind.evil.com:${p}\r\nConnection: close\r\n\r\n`,
      `POST /health HTTP/1.1\r\nHost: evil.com\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    ]) {
      const r = await rawHttp(p, text)
      expect(r.status, text).toBe(421)
      expect(r.raw, text).not.toContain(VERSION)
    }
    // No Host at all in HTTP/1.1 is refused by Node's parser itself (400), also without data.
    const missing = await rawHttp(p, `GET /health HTTP/1.1\r\nConnection: close\r\n\r\n`)
    expect([400, 421]).toContain(missing.status)
    expect(missing.raw).not.toContain(VERSION)
    // The loopback absolute form is a normal request.
    const absolute = await rawHttp(p, `GET http://127.0.0.1:${p}/health HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nConnection: close\r\n\r\n`)
    expect(absolute.status).toBe(200)
    // And the daemon is still healthy after all of them.
    expect((await h.cco(['health'])).code).toBe(0)
  })
})

describe('the rules as plain data', () => {
  it('recognises a cco daemon command line and nothing else', () => {
    const node = '/usr/local/bin/node'
    expect(isCcoDaemonCommand('/home/u/.local/bin/cco', ['/home/u/.local/bin/cco', 'run'])).toBe(true)
    expect(isCcoDaemonCommand('/home/u/.local/bin/cco', ['cco', 'run', '--port', '3001'])).toBe(true)
    expect(isCcoDaemonCommand(node, [node, '/home/u/.local/bin/cco', 'run', '--debug'])).toBe(true)
    expect(isCcoDaemonCommand(node, ['node', '/tmp/b/cco-2026.1.1-abc', 'run'])).toBe(true)
    expect(isCcoDaemonCommand(node, ['node', '/repo/client/src/cli.ts', 'run'])).toBe(true)
    expect(isCcoDaemonCommand('/usr/bin/sleep', ['sleep', '60'])).toBe(false)
    expect(isCcoDaemonCommand('/usr/bin/sleep', ['/home/u/.local/bin/cco', 'run'])).toBe(false)
    expect(isCcoDaemonCommand(node, [node, '/home/u/.local/bin/cco', 'daemon', 'logs', '-f'])).toBe(false)
    expect(isCcoDaemonCommand(node, [node, '/srv/app.js', 'run'])).toBe(false)
    expect(isCcoDaemonCommand(node, [node, '-e', 'run'])).toBe(false)
    expect(isCcoDaemonCommand('/home/u/.local/bin/cco', ['cco', 'update', '--yes'])).toBe(false)
    // A binary installed under another name is known as this process's own program.
    expect(isCcoDaemonCommand('/opt/bin/ccoctl', ['/opt/bin/ccoctl', 'run'])).toBe(false)
    expect(isCcoDaemonCommand('/opt/bin/ccoctl', ['/opt/bin/ccoctl', 'run'], ['/opt/bin/ccoctl'])).toBe(true)
    expect(isCcoDaemonCommand(node, [node, '/opt/bin/ccoctl', 'run'], ['/opt/bin/ccoctl'])).toBe(true)
    expect(isCcoDaemonCommand(node, [node, 'run'], ['/opt/bin/ccoctl'])).toBe(false)
  })

  it('takes only loopback names as Host', () => {
    for (const ok of ['localhost', 'localhost:3000', '127.0.0.1', '127.9.9.9:1', '[::1]', '[::1]:3000', 'LOCALHOST']) expect(isLoopbackAuthority(ok), ok).toBe(true)
    for (const bad of [undefined, '', 'localhost.evil.com', '127.0.0.1.nip.io', '[::1', '::1', 'localhost:', 'localhost:123456', ' localhost']) expect(isLoopbackAuthority(bad), String(bad)).toBe(false)
  })
})
