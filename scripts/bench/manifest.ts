// Broker benchmarks against real `wrangler dev` (workerd): manifest throughput and latency
// (edge-cache hits and 304s) next to a static file server serving the same bytes, the size
// of a signed five-platform manifest and of a 304 exchange, and the time from a webhook to
// the new manifest being served; and how many reads of the Durable Object 10 000 polls cost.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PLATFORMS, canonicalAssetName } from '../../contract/platform.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { freePort } from '../../support/ports.ts'
import { releasePayload } from '../../support/github.ts'
import { median, type Figure } from './figures.ts'
import { checkErrorRate, drive, errorNote, loadRun, type LoadResult } from './load.ts'
import { startStaticServer } from './static-server.ts'

export interface ManifestBenchOptions {
  /** Seconds per load run. */
  duration: number
  connections: number
  /** Webhook → served samples. */
  webhookSamples: number
  /** Rounds of the broker against the constant Worker (C B B C each). */
  pairRounds: number
  /** Polls of the Durable Object reads figure (10 000, issue 14's figure, when not given). */
  polls?: number
}

function releaseOf(version: string) {
  const assets = PLATFORMS.map((p) => {
    const name = canonicalAssetName(version, p)
    return {
      name,
      url: `https://github.com/cco-dev/cco/releases/download/v${version}/${name}`,
      size: 44_000_000,
      digest: 'sha256:' + createHash('sha256').update(name).digest('hex'),
    }
  })
  const notes = '## Changes\n\n' + Array.from({ length: 20 }, (_, i) => `- change number ${i + 1} in this release`).join('\n')
  return releasePayload({ action: 'published', tag: `v${version}`, body: notes, assets })
}

async function publish(broker: DevBroker, version: string): Promise<void> {
  const res = await broker.sendWebhook('release', releaseOf(version))
  const body = await res.text()
  if (!res.ok || !body.includes('"published"')) throw new Error(`webhook for ${version} failed: ${res.status} ${body}`)
}

function load(url: string, o: ManifestBenchOptions, headers: Record<string, string> = {}, expect = 200): Promise<LoadResult> {
  return loadRun(url, { connections: o.connections, duration: o.duration, headers, expect })
}

/** Bytes on the wire of one request and its answer, over a raw socket (HTTP/1.1, close). */
function exchangeBytes(url: string, headers: Record<string, string>): Promise<{ request: number; response: number; status: number }> {
  const u = new URL(url)
  const lines = [`GET ${u.pathname} HTTP/1.1`, `Host: ${u.host}`, 'User-Agent: cco/2026.11.3', 'Accept: application/jose+json']
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  lines.push('Connection: close', '', '')
  const request = Buffer.from(lines.join('\r\n'))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(Number(u.port), u.hostname, () => socket.end(request))
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', reject)
    socket.on('close', () => {
      const response = Buffer.concat(chunks)
      resolve({ request: request.length, response: response.length, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(response.toString('latin1'))?.[1]) })
    })
  })
}

/**
 * CPU time (user + system, ms) so far of the `wrangler dev` listening on `port`: every process
 * in its process group (wrangler's Node proxy and workerd, where the Worker's JavaScript runs).
 */
export function runtimeCpuMs(port: number): number {
  const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n))
  const stat = (pid: string): string[] | null => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // Fields after the command name (in parentheses, may hold spaces): state, ppid, pgrp, …
      return text.slice(text.lastIndexOf(')') + 2).split(' ')
    } catch {
      return null
    }
  }
  const wrangler = pids.find((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      return argv.some((a) => a.endsWith('wrangler.js')) && argv[argv.indexOf('--port') + 1] === String(port)
    } catch {
      return false
    }
  })
  const group = wrangler ? stat(wrangler)?.[2] : undefined
  if (!group) throw new Error(`no wrangler dev process listening on port ${port}`)
  let ticks = 0
  for (const pid of pids) {
    const f = stat(pid)
    if (f && f[2] === group) ticks += Number(f[11]) + Number(f[12])
  }
  return (ticks / TICKS_PER_SECOND) * 1000
}
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** A load run and the CPU per request it cost `wrangler dev` (wrangler + workerd) and this process (the load generator). */
async function loadWithCpu(port: number, run: () => Promise<LoadResult>): Promise<LoadResult & { runtimeMsPerRequest: number; loadMsPerRequest: number }> {
  const runtime = runtimeCpuMs(port)
  const own = process.cpuUsage()
  const r = await run()
  const used = process.cpuUsage(own)
  const n = Math.max(1, r.requests)
  return { ...r, runtimeMsPerRequest: (runtimeCpuMs(port) - runtime) / n, loadMsPerRequest: (used.user + used.system) / 1000 / n }
}

/**
 * Two runs of equal length as one: requests per second over both, errors added up; the
 * latency percentiles are the mean of the two runs' (the runs' own histograms are not kept).
 */
function joinRuns<T extends LoadResult & { runtimeMsPerRequest: number; loadMsPerRequest: number }>(runs: T[]): T {
  const n = runs.reduce((sum, r) => sum + r.requests, 0)
  const mean = (k: 'rps' | 'p50' | 'p99') => runs.reduce((sum, r) => sum + r[k], 0) / runs.length
  const per = (k: 'runtimeMsPerRequest' | 'loadMsPerRequest') => runs.reduce((sum, r) => sum + r[k] * r.requests, 0) / Math.max(1, n)
  const errors: Record<string, number> = {}
  for (const r of runs) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
  return { ...runs[0]!, rps: mean('rps'), p50: mean('p50'), p99: mean('p99'), requests: n, errors, runtimeMsPerRequest: per('runtimeMsPerRequest'), loadMsPerRequest: per('loadMsPerRequest') }
}

/**
 * The response headers a Worker sets on the broker's answer: what the constant Worker repeats,
 * so that both answers are the same bytes on the wire (wrangler adds the transport headers to both).
 */
const TRANSPORT_HEADERS = new Set(['content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding'])
function workerHeaders(res: Response): Record<string, string> {
  return Object.fromEntries([...res.headers].filter(([name]) => !TRANSPORT_HEADERS.has(name)))
}

/** `wrangler dev` running a Worker that answers the same bytes (body and headers) from memory (constant-worker.ts). */
async function startConstantWorker(body: string, headers: Record<string, string>): Promise<{ url: string; close(): Promise<void> }> {
  const root = resolve(import.meta.dirname, '../..')
  const dir = mkdtempSync(join(tmpdir(), 'cco-bench-constant-'))
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "cco-bench-constant"\nmain = ${JSON.stringify(join(root, 'scripts/bench/constant-worker.ts'))}\ncompatibility_date = "2026-11-01"\nsend_metrics = false\n`,
  )
  const port = await freePort()
  const child = spawn(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', join(dir, 'state'), '--var', `BODY:${body}`, '--var', `HEADERS:${JSON.stringify(headers)}`, '--show-interactive-dev-session=false', '--log-level', 'warn'], {
    cwd: dir,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
  })
  const url = `http://127.0.0.1:${port}/v1/channels/stable/manifest`
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url)
      await r.arrayBuffer()
      if (r.ok) break
    } catch {}
    if (i > 300) throw new Error('the constant worker did not start')
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    async close() {
      try {
        process.kill(-child.pid!, 'SIGTERM')
      } catch {}
      await new Promise((r) => setTimeout(r, 500))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Durable Object reads per channel per cache period during `polls` polls of both channels
 * (20 in flight), starting right after a release, which empties this colo's edge cache: the
 * worst case of a cache period. Counted from the answers' `x-cco-source`: `do` is the one
 * answer whose request read the object (`do-coalesced` and `memo` shared another's read,
 * `kv` and `cache` never reach it). The polls are plain GETs because a 304 carries no
 * `x-cco-source`; the tiers a 304 goes through are the same. A cache period is the edge
 * cache's 60 s: a run longer than that is allowed one read per channel per started minute.
 */
async function durableObjectReads(broker: DevBroker, version: string, o: ManifestBenchOptions): Promise<Figure> {
  const polls = o.polls ?? 10_000
  await publish(broker, version)
  const urls = (['stable', 'beta'] as const).map((ch) => `${broker.url}/v1/channels/${ch}/manifest`)
  const tally: Record<string, number> = {}
  const started = performance.now()
  const r = await drive(
    polls,
    o.connections,
    (i) => fetch(urls[i % urls.length]!, { headers: { 'user-agent': 'cco/2026.11.3' } }),
    (status) => status === 200,
    (res) => {
      const source = res.headers.get('x-cco-source') ?? 'none'
      tally[source] = (tally[source] ?? 0) + 1
    },
  )
  checkErrorRate('Durable Object reads run', r)
  const periods = Math.max(1, Math.ceil((performance.now() - started) / 60_000))
  const perChannel = (tally['do'] ?? 0) / (urls.length * periods)
  const sources = Object.entries(tally).map(([k, n]) => `${k} ${n}`).join(', ')
  return {
    name: `Durable Object reads per channel per cache period, ${polls} polls`,
    value: perChannel,
    unit: 'reads',
    baseline: { name: 'one read per channel per period', value: 1 },
    better: 'lower',
    target: { max: 1 },
    note: `x-cco-source of the answers: ${sources}; ${urls.length} channels, ${periods} period(s) of 60 s; ${errorNote(r)}`,
  }
}

export async function benchManifest(o: ManifestBenchOptions, log: (line: string) => void): Promise<Figure[]> {
  const broker = await startBroker({ vars: { STABLE_FROM_RELEASES: 'true' } })
  try {
    await publish(broker, '2026.11.3')
    const url = `${broker.url}/v1/channels/stable/manifest`
    const first = await fetch(url)
    const body = Buffer.from(await first.arrayBuffer())
    const etag = first.headers.get('etag')!
    const warm = await fetch(url)
    await warm.arrayBuffer()
    if (warm.headers.get('x-cco-source') !== 'cache') throw new Error(`expected an edge-cache hit, got ${warm.headers.get('x-cco-source')}`)
    const payload = JSON.parse(Buffer.from(JSON.parse(body.toString()).payload, 'base64url').toString()) as { release: { assets: object } }
    if (Object.keys(payload.release.assets).length !== 5) throw new Error('the bench release should carry five platforms')

    const baseline = await startStaticServer('v1/channels/stable/manifest', body, 'application/jose+json')
    const constant = await startConstantWorker(body.toString(), workerHeaders(warm))
    log(`manifest: the constant Worker answers the broker's body and headers: ${Object.keys(workerHeaders(warm)).join(', ')}`)
    try {
      log(`manifest load: ${o.connections} connections, ${o.duration} s per run; baseline ${baseline.kind}`)
      const hit = await load(url, o)
      const hitBase = await load(baseline.url, o)
      // The broker against the constant Worker (the target's pair): runs of the same runtime,
      // interleaved as C B B C in `pairRounds` rounds, so that a change of the machine's load
      // during the part (other work on a shared machine) falls on both alike; one round alone
      // moved the ratio by up to 8 points between runs on a quiet machine.
      const half = { ...o, duration: o.duration / 2 }
      const brokerRun = () => loadWithCpu(Number(new URL(url).port), () => load(url, half))
      const constantRun = () => loadWithCpu(Number(new URL(constant.url).port), () => load(constant.url, half))
      const brokerRuns: Awaited<ReturnType<typeof brokerRun>>[] = []
      const constantRuns: typeof brokerRuns = []
      for (let round = 0; round < o.pairRounds; round++) {
        constantRuns.push(await constantRun())
        brokerRuns.push(await brokerRun(), await brokerRun())
        constantRuns.push(await constantRun())
      }
      const hitPaired = joinRuns(brokerRuns)
      const hitConstant = joinRuns(constantRuns)
      // Where a request's CPU goes under `wrangler dev`: the runtime's processes (the Worker's
      // JavaScript runs inside workerd) against the load generator, for the broker and for the
      // Worker that only returns the same bytes. The difference per request bounds what the
      // broker's own code costs; the rest is the local runtime, the floor of both figures.
      const cpu = (r: typeof hitPaired) => `${r.runtimeMsPerRequest.toFixed(3)} ms`
      const extra = hitPaired.runtimeMsPerRequest - hitConstant.runtimeMsPerRequest
      const cpuNote = `${o.pairRounds} round(s) of C B B C, ${half.duration} s each; CPU per request in wrangler dev + workerd: broker ${cpu(hitPaired)}, same bytes from memory ${cpu(hitConstant)} (difference ${extra.toFixed(3)} ms, ${((extra / hitPaired.runtimeMsPerRequest) * 100).toFixed(1)} % of the broker's); load generator ${hitPaired.loadMsPerRequest.toFixed(3)} / ${hitConstant.loadMsPerRequest.toFixed(3)} ms`
      log(`manifest: ${cpuNote}`)
      const nm = await load(url, o, { 'if-none-match': etag }, 304)
      const nmBase = await load(baseline.url, o, { 'if-none-match': baseline.etag }, 304)
      for (const [what, r] of Object.entries({ hit, hitBase, hitPaired, hitConstant, nm, nmBase })) checkErrorRate(what, r)
      const note = (a: LoadResult, b: LoadResult) => `${errorNote(a)}; baseline ${errorNote(b)}`

      const full = await exchangeBytes(url, {})
      const cond = await exchangeBytes(url, { 'If-None-Match': etag })
      const condBase = await exchangeBytes(baseline.url, { 'If-None-Match': baseline.etag })
      if (full.status !== 200 || cond.status !== 304 || condBase.status !== 304) throw new Error('unexpected status measuring exchanges')
      const unsigned = Buffer.from(JSON.parse(body.toString()).payload, 'base64url').length

      // Webhook → the new manifest served (polling the public route, as a host would).
      const samples: number[] = []
      const rtt: number[] = []
      for (let i = 0; i < o.webhookSamples; i++) {
        const version = `2026.12.${i + 1}`
        const t0 = performance.now()
        await publish(broker, version)
        for (;;) {
          const r = await fetch(url)
          const text = await r.text()
          const p = JSON.parse(Buffer.from(JSON.parse(text).payload, 'base64url').toString()) as { release: { version: string } }
          if (p.release.version === version) break
          if (performance.now() - t0 > 30_000) throw new Error(`${version} was not served within 30 s`)
        }
        samples.push(performance.now() - t0)
        const t1 = performance.now()
        await (await fetch(url)).arrayBuffer()
        rtt.push(performance.now() - t1)
      }

      const reads = await durableObjectReads(broker, `2026.12.${o.webhookSamples + 1}`, o)

      const base = (value: number) => ({ name: baseline.kind.split(' ')[0]!, value })
      return [
        { name: 'manifest GET, edge-cache hit: throughput', value: hit.rps, unit: 'req/s', baseline: base(hitBase.rps), better: 'higher', note: note(hit, hitBase) },
        { name: 'manifest GET, edge-cache hit: p50 latency', value: hit.p50, unit: 'ms', baseline: base(hitBase.p50), better: 'lower' },
        { name: 'manifest GET, edge-cache hit: p99 latency', value: hit.p99, unit: 'ms', baseline: base(hitBase.p99), better: 'lower' },
        { name: 'manifest GET, edge-cache hit: throughput', value: hitPaired.rps, samples: brokerRuns.map((r) => r.rps), unit: 'req/s', baseline: { name: 'wrangler dev, same bytes from memory', value: hitConstant.rps, samples: constantRuns.map((r) => r.rps) }, better: 'higher', note: `${note(hitPaired, hitConstant)}; ${cpuNote}` },
        { name: 'manifest GET, edge-cache hit: p50 latency', value: hitPaired.p50, unit: 'ms', baseline: { name: 'wrangler dev, same bytes from memory', value: hitConstant.p50 }, better: 'lower' },
        { name: 'manifest GET, 304: throughput', value: nm.rps, unit: 'req/s', baseline: base(nmBase.rps), better: 'higher', note: note(nm, nmBase) },
        { name: 'manifest GET, 304: p50 latency', value: nm.p50, unit: 'ms', baseline: base(nmBase.p50), better: 'lower' },
        { name: 'manifest GET, 304: p99 latency', value: nm.p99, unit: 'ms', baseline: base(nmBase.p99), better: 'lower' },
        { name: 'signed manifest, five platforms', value: body.length, unit: 'bytes', baseline: { name: 'the same payload unsigned', value: unsigned }, better: 'lower' },
        { name: 'one 304 exchange (request + response)', value: cond.request + cond.response, unit: 'bytes', baseline: base(condBase.request + condBase.response), better: 'lower' },
        { name: 'one full 200 exchange', value: full.request + full.response, unit: 'bytes', baseline: { name: 'a 304 exchange', value: cond.request + cond.response }, better: 'lower' },
        reads,
        { name: 'webhook → new manifest served (median)', value: median(samples), samples, unit: 'ms', baseline: { name: 'one manifest GET', value: median(rtt), samples: rtt }, better: 'lower', note: `${o.webhookSamples} releases` },
      ]
    } finally {
      await baseline.close()
      await constant.close()
    }
  } finally {
    await broker.stop()
  }
}
