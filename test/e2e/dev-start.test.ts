// `npm start` as a developer runs it: a real npm, scripts/dev.ts, wrangler and workerd. A signal
// to the npm process alone, or npm dying outright, must take the whole tree down: no wrangler
// or workerd left holding the port.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../support/cco-process.ts'
import { freePort } from '../../support/ports.ts'

const hasProc = (() => {
  try {
    readdirSync('/proc/self')
    return true
  } catch {
    return false
  }
})()

interface ProcInfo {
  pid: number
  ppid: number
  pgrp: number
  state: string
  comm: string
}

function procs(): ProcInfo[] {
  const out: ProcInfo[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.push({ pid: Number(name), state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]), comm })
    } catch {}
  }
  return out
}

/** Every live process below `root` (zombies do not count: they hold no port and run nothing). */
function tree(root: number): ProcInfo[] {
  const all = procs().filter((p) => p.state !== 'Z')
  const found: ProcInfo[] = []
  const queue = [root]
  while (queue.length) {
    const parent = queue.shift()!
    for (const p of all.filter((q) => q.ppid === parent)) {
      found.push(p)
      queue.push(p.pid)
    }
  }
  return found
}

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}
const alive = (pids: readonly number[]) => procs().filter((p) => p.state !== 'Z' && pids.includes(p.pid))

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** Polls `check` until it holds, or fails after `ms` with what it saw last (a bound, not a measurement). */
async function eventually<T>(what: string, ms: number, check: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== null) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

interface Started {
  npm: ChildProcess
  port: number
  output: () => string
  dir: string
}

const started: Started[] = []
afterAll(() => {
  for (const s of started) {
    // A failed test must not leave its broker behind: the whole group npm started in.
    try {
      process.kill(-s.npm.pid!, 'SIGKILL')
    } catch {}
    for (const p of procs().filter((q) => q.pgrp === s.npm.pid)) {
      try {
        process.kill(p.pid, 'SIGKILL')
      } catch {}
    }
    rmSync(s.dir, { recursive: true, force: true })
  }
})

async function npmStart(): Promise<Started> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'cco-dev-start-'))
  // Its own process group, only so that afterAll can clean up after a failure; the test
  // signals the npm process alone.
  const npm = spawn('npm', ['start', '--', '--show-interactive-dev-session=false'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), CCO_DEV_DIR: dir, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  npm.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d))
  npm.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d))
  const s = { npm, port, output: () => output, dir }
  started.push(s)
  await eventually(`the broker on port ${port} answers /health\n${output}`, 60_000, async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`)
      return res.ok ? true : null
    } catch {
      return null
    }
  })
  return s
}

async function expectAllGone(s: Started, below: ProcInfo[]): Promise<void> {
  const pids = below.map((p) => p.pid)
  await eventually(`no process of the run is left: ${alive(pids).map((p) => `${p.pid} ${cmdline(p.pid)}`).join('; ')}\n${s.output()}`, 20_000, () =>
    alive(pids).length === 0 && procs().filter((p) => p.pgrp === s.npm.pid && p.state !== 'Z').length === 0 ? true : null,
  )
  expect(await accepts(s.port)).toBe(false)
}

describe.skipIf(!hasProc)('npm start', () => {
  it('stops wrangler and workerd when only the npm process gets SIGTERM', { timeout: 120_000 }, async () => {
    const s = await npmStart()
    const below = tree(s.npm.pid!)
    // The run really has the processes the bug left behind.
    expect(below.some((p) => cmdline(p.pid).includes('wrangler')), below.map((p) => cmdline(p.pid)).join('\n')).toBe(true)
    expect(below.some((p) => p.comm.startsWith('workerd')), below.map((p) => p.comm).join(', ')).toBe(true)
    // The dev script runs in place of npm's shell, so the signal npm forwards reaches it.
    expect(below.some((p) => p.comm === 'sh')).toBe(false)
    s.npm.kill('SIGTERM')
    await expectAllGone(s, below)
    expect(s.output()).toContain(`Broker: http://127.0.0.1:${s.port}`)
  })

  it('stops wrangler and workerd when npm dies without a word (SIGKILL)', { timeout: 120_000 }, async () => {
    const s = await npmStart()
    const below = tree(s.npm.pid!)
    expect(below.some((p) => p.comm.startsWith('workerd'))).toBe(true)
    s.npm.kill('SIGKILL')
    await expectAllGone(s, below)
  })
})
