// A cco host for daemon tests: a temporary HOME with a config written in one go (broker, pinned
// key, schedule, port), an installed bundle, helpers to run cco, read the pid file and the
// log, poll `/health`, and a teardown that leaves no daemon behind.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { childEnv, runCco, show, type CcoRun, type RunOptions } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { freePort } from '../../support/ports.ts'

export interface DaemonConfig {
  server?: string
  keys?: { kid: string; x: string }[]
  interval?: string
  autoInstall?: boolean
  enabled?: boolean
  channel?: string
  /** updates.window */
  window?: string | string[]
  port: number
  host?: string
  /** Leave daemon.port out of the file (the default, 3000). */
  defaultPort?: boolean
}

export function configText(c: DaemonConfig): string {
  const lines = ['# daemon test host', '[updates]']
  if (c.server) lines.push(`server = ${JSON.stringify(c.server)}`)
  lines.push(`check_interval = ${JSON.stringify(c.interval ?? 'never')}`)
  lines.push(`auto_install = ${c.autoInstall ?? false}`)
  lines.push(`enabled = ${c.enabled ?? true}`)
  if (c.channel) lines.push(`channel = ${JSON.stringify(c.channel)}`)
  if (c.window !== undefined) lines.push(`window = ${JSON.stringify(c.window)}`)
  lines.push('', '[daemon]')
  if (!c.defaultPort) lines.push(`port = ${c.port}`)
  if (c.host) lines.push(`host = ${JSON.stringify(c.host)}`)
  lines.push('')
  for (const k of c.keys ?? []) lines.push('[[trust.keys]]', `kid = ${JSON.stringify(k.kid)}`, `x = ${JSON.stringify(k.x)}`, '')
  return lines.join('\n')
}

export interface PidRecord {
  pid: number
  port: number
  host: string
  version: string
  started_at: string
  binary: string
}

export interface Health {
  code: number
  body: Record<string, unknown> & { status?: string; version?: string; pid?: number }
  raw: string
}

export interface DaemonHost extends CcoHome {
  port: number
  logFile: string
  pidFile: string
  /** Extra environment for every cco run of this host. */
  env: Record<string, string>
  config(c: Partial<DaemonConfig>): void
  cco(args: string[], o?: Partial<RunOptions>): Promise<CcoRun>
  pidRecord(): PidRecord | null
  log(): string
  health(): Promise<Health | null>
  /** Polls until `/health` answers with `version` (and status ok, unless `status` says otherwise). */
  waitForHealth(o: { version?: string; notPid?: number; timeoutMs?: number }): Promise<Health>
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Remembers a pid to kill at teardown (daemons, watchdogs, successors). */
  track(pid: number | undefined): void
  teardown(): Promise<void>
}

export async function waitFor<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 15_000, pollMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

export async function getHealth(port: number, host = '127.0.0.1'): Promise<Health | null> {
  try {
    const res = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(2_000) })
    const raw = await res.text()
    return { code: res.status, body: JSON.parse(raw) as Health['body'], raw }
  } catch {
    return null
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function daemonHost(o: { installed: string; config?: Omit<DaemonConfig, 'port'>; port?: number; env?: Record<string, string> }): Promise<DaemonHost> {
  const home = makeHome('cco-daemon-')
  const port = o.port ?? (await freePort())
  const logFile = join(home.stateDir, 'daemon.log')
  const pidFile = join(home.stateDir, 'daemon.pid')
  let current: DaemonConfig = { ...o.config, port }
  const pids = new Set<number>()
  const writeConfig = () => {
    mkdirSync(join(home.home, '.config', 'cco'), { recursive: true })
    writeFileSync(home.configFile, configText(current))
  }
  writeConfig()
  home.install(o.installed)

  const host: DaemonHost = {
    ...home,
    port,
    logFile,
    pidFile,
    env: { ...o.env },
    config(c) {
      current = { ...current, ...c }
      writeConfig()
    },
    cco: (args, ro = {}) => runCco(home.installPath, args, { home: home.home, ...ro, env: { ...host.env, ...ro.env } }),
    pidRecord() {
      try {
        const r = JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord
        pids.add(r.pid)
        return r
      } catch {
        return null
      }
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async health() {
      const h = await getHealth(port)
      if (typeof h?.body.pid === 'number') pids.add(h.body.pid)
      return h
    },
    waitForHealth(w) {
      return waitFor(
        `/health on port ${port}${w.version ? ` to report ${w.version}` : ''}\n--- daemon.log\n${host.log()}`,
        async () => {
          const h = await host.health()
          if (!h || h.code !== 200 || h.body.status !== 'ok') return null
          if (w.version && h.body.version !== w.version) return null
          if (w.notPid && h.body.pid === w.notPid) return null
          return h
        },
        w.timeoutMs ?? 20_000,
        150,
      ).catch((err: Error) => {
        throw new Error(`${err.message.split('\n')[0]}\n--- daemon.log\n${host.log()}`)
      })
    },
    waitForLog(pattern, timeoutMs = 15_000) {
      return waitFor(`${pattern} in daemon.log`, () => pattern.exec(host.log())?.[0], timeoutMs).catch((err: Error) => {
        throw new Error(`${err.message}\n--- daemon.log\n${host.log()}`)
      })
    },
    track(pid) {
      if (pid) pids.add(pid)
    },
    async teardown() {
      host.pidRecord()
      const r = spawnSync(home.installPath, ['daemon', 'stop'], { env: childEnv(home.home), encoding: 'utf8', timeout: 20_000 })
      if (r.status !== 0) process.stderr.write(`daemon stop at teardown: ${r.stdout}${r.stderr}\n`)
      // Successors, watchdogs, anything else started from this HOME.
      for (const pid of processesOf(home.home)) pids.add(pid)
      for (const pid of pids) {
        if (pid !== process.pid && isAlive(pid)) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {}
        }
      }
      home.cleanup()
    },
  }
  return host
}

export type DaemonHostOptions = Parameters<typeof daemonHost>[0]

/**
 * The usual set-up of a daemon test file (or describe block): one bundle of `version`, built
 * before its tests; hosts made with it (daemonHost's options), all torn down after them.
 */
export function daemonHostsOf(version: string): { host(o?: Partial<DaemonHostOptions>): Promise<DaemonHost> } {
  let bundle = ''
  const hosts: DaemonHost[] = []
  beforeAll(async () => {
    bundle = await clientBundle({ version })
  }, 60_000)
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.teardown()))
  }, 60_000)
  return {
    async host(o = {}) {
      const h = await daemonHost({ installed: bundle, ...o })
      hosts.push(h)
      return h
    },
  }
}

export function expectOk(run: CcoRun): CcoRun {
  if (run.code !== 0) throw new Error(`expected exit 0:\n${show(run)}`)
  return run
}

/** Every cco process started from this host's HOME that is still alive (for teardown checks). */
export function processesOf(home: string): number[] {
  const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  return r.stdout
    .split('\n')
    .filter((l) => l.includes(home))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0)
}
