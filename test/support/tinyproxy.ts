// A real forward proxy for tests: Debian's tinyproxy, run unprivileged in the foreground from a
// temporary config, logging every request so tests can prove what went through it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../support/ports.ts'

export const TINYPROXY = ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy', '/usr/local/bin/tinyproxy'].find((p) => existsSync(p))

export interface Tinyproxy {
  url: string
  port: number
  log(): string
  stop(): Promise<void>
}

export async function startTinyproxy(o: { basicAuth?: [string, string] } = {}): Promise<Tinyproxy> {
  if (!TINYPROXY) throw new Error('tinyproxy is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'cco-tinyproxy-'))
  const port = await freePort()
  const logFile = join(dir, 'tinyproxy.log')
  const conf = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Allow 127.0.0.1',
    `LogFile "${logFile}"`,
    'LogLevel Info',
    'Timeout 30',
    'MaxClients 50',
    ...(o.basicAuth ? [`BasicAuth ${o.basicAuth[0]} ${o.basicAuth[1]}`] : []),
  ].join('\n')
  writeFileSync(join(dir, 'tinyproxy.conf'), `${conf}\n`)
  const child: ChildProcess = spawn(TINYPROXY, ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))

  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited: ${output}`)
    const up = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), r(true)))
      s.once('error', () => r(false))
    })
    if (up) break
    if (Date.now() > deadline) throw new Error(`tinyproxy did not listen on ${port}: ${output}`)
    await new Promise((r) => setTimeout(r, 50))
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 2000)
        await exited
        clearTimeout(t)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
