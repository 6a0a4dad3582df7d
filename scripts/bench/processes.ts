// Process benchmarks: `cco --version` start time next to `node -e 0`, `cco version` (the
// full CLI path) next to `cco --version`, and the daemon's idle
// memory and CPU next to a bare Node process that only listens on a port.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { makeHome } from '../../support/cco-home.ts'
import { childEnv } from '../../support/cco-process.ts'
import { freePort } from '../../support/ports.ts'
import { startReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, signManifest } from '../../support/signed-manifest.ts'
import { median, type Figure } from './figures.ts'

function timeRuns(cmd: string, args: string[], runs: number, env: NodeJS.ProcessEnv): number[] {
  const out: number[] = []
  for (let i = 0; i < runs + 2; i++) {
    const t = process.hrtime.bigint()
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const ms = Number(process.hrtime.bigint() - t) / 1e6
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
    if (i >= 2) out.push(ms) // two warm-up runs fill the page cache
  }
  return out
}

export function benchStartup(o: { binary: string; label: string; runs: number }): Figure[] {
  const env = { ...process.env, NO_COLOR: '1' }
  const version = execFileSync(o.binary, ['--version'], { env, encoding: 'utf8' }).trim()
  if (!/^cco \S+$/.test(version)) throw new Error(`unexpected --version output: ${version}`)
  const cco = timeRuns(o.binary, ['--version'], o.runs, env)
  const node = timeRuns(process.execPath, ['-e', '0'], o.runs, env)
  // The full CLI path (commander, config, every command module) in a home of its own, so it
  // reads no user's config; `cco version` touches no network.
  const h = makeHome('cco-bench-version-')
  let full: number[]
  try {
    full = timeRuns(o.binary, ['version'], o.runs, childEnv(h.home))
  } finally {
    h.cleanup()
  }
  return [
    { name: `cco --version start time (${o.label}, median of ${o.runs})`, value: median(cco), unit: 'ms', samples: cco, baseline: { name: 'node -e 0', value: median(node), samples: node }, better: 'lower' },
    {
      name: `cco version start time (${o.label}, full CLI path, median of ${o.runs})`,
      value: median(full),
      unit: 'ms',
      samples: full,
      baseline: { name: 'cco --version', value: median(cco), samples: cco },
      better: 'lower',
      target: { ratio: 1.5, better: 'lower' },
    },
  ]
}

const mib = (n: number): string => n.toFixed(1)

interface Usage {
  rssKiB: number
  /** VmRSS split: anonymous memory (heaps, stacks) and the executable's file-backed pages. */
  anonKiB: number
  fileKiB: number
  cpuMs: number
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

function usage(pid: number): Usage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
  const rssKiB = kib('VmRSS')
  // Fields after the command name (which is in parentheses and may hold spaces).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12]) // utime + stime
  return { rssKiB, anonKiB: kib('RssAnon'), fileKiB: kib('RssFile') + kib('RssShmem'), cpuMs: (ticks / TICKS_PER_SECOND) * 1000 }
}

async function idle(pid: number, seconds: number): Promise<{ rssMiB: number; anonMiB: number; fileMiB: number; cpuPercent: number }> {
  const start = usage(pid)
  await sleep(seconds * 1000)
  const end = usage(pid)
  return { rssMiB: end.rssKiB / 1024, anonMiB: end.anonKiB / 1024, fileMiB: end.fileKiB / 1024, cpuPercent: ((end.cpuMs - start.cpuMs) / (seconds * 1000)) * 100 }
}

/** `cco daemon start` with a daily check against a loopback broker, then `seconds` idle. */
export async function benchDaemonIdle(o: { binary: string; label: string; seconds: number }, log: (line: string) => void): Promise<Figure[]> {
  const server = await startReleaseServer()
  const h = makeHome('cco-bench-daemon-')
  const signer = await createSigner('bench')
  server.manifest('stable', await signManifest(manifestPayload({ version: '2026.1.1' }), [signer]))
  const port = await freePort()
  h.writeConfig({ server: server.url, keys: [signer.publicKey], extra: `[daemon]\nport = ${port}\n` })
  h.install(o.binary)
  const env = childEnv(h.home)
  const bare = spawn(process.execPath, ['-e', "require('node:http').createServer().listen(0, '127.0.0.1')"], { stdio: 'ignore' })
  try {
    execFileSync(h.installPath, ['daemon', 'start'], { env, stdio: 'pipe' })
    const pid = (JSON.parse(readFileSync(`${h.stateDir}/daemon.pid`, 'utf8')) as { pid: number }).pid
    log(`daemon idle: pid ${pid} (${o.label}) and a bare node pid ${bare.pid}, ${o.seconds} s`)
    await sleep(2000) // past the first check
    const [daemon, node] = await Promise.all([idle(pid, o.seconds), idle(bare.pid!, o.seconds)])
    return [
      {
        name: `daemon idle RSS after ${o.seconds} s (${o.label})`,
        value: daemon.rssMiB,
        unit: 'MiB',
        baseline: { name: 'node listening on a port', value: node.rssMiB },
        better: 'lower',
        // Where the gap is: anonymous memory (heap, stacks) against the executable's mapped pages.
        note: `anonymous ${mib(daemon.anonMiB)} vs ${mib(node.anonMiB)} MiB, file-backed ${mib(daemon.fileMiB)} vs ${mib(node.fileMiB)} MiB`,
      },
      { name: `daemon idle CPU over ${o.seconds} s`, value: daemon.cpuPercent, unit: '% of a core', baseline: { name: 'node listening on a port', value: node.cpuPercent }, better: 'lower' },
    ]
  } finally {
    spawnSync(h.installPath, ['daemon', 'stop'], { env, stdio: 'ignore' })
    bare.kill()
    await server.close()
    h.cleanup()
  }
}
