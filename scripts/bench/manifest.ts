// Broker benchmarks against real `wrangler dev` (workerd): manifest throughput and latency
// (edge-cache hits and 304s) next to a static file server serving the same bytes, the size
// of a signed five-platform manifest and of a 304 exchange, and the time from a webhook to
// the new manifest being served.
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { PLATFORMS, canonicalAssetName } from '../../contract/platform.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { freePort } from '../../support/ports.ts'
import { releasePayload } from '../../support/github.ts'
import { median, type Figure } from './figures.ts'
import { startStaticServer } from './static-server.ts'

export interface ManifestBenchOptions {
  /** Seconds per load run. */
  duration: number
  connections: number
  /** Webhook → served samples. */
  webhookSamples: number
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

interface Load {
  rps: number
  p50: number
  p99: number
  errors: number
}

async function load(url: string, o: ManifestBenchOptions, headers: Record<string, string> = {}, expect = 200): Promise<Load> {
  const r = await autocannon({ url, connections: o.connections, duration: o.duration, headers })
  const wrong = r.errors + r.timeouts + (expect === 200 ? r.non2xx : r['2xx'])
  if (wrong > 0) console.error(`bench: ${url}: errors ${r.errors}, timeouts ${r.timeouts}, 2xx ${r['2xx']}, non2xx ${r.non2xx}, statuses ${JSON.stringify(r.statusCodeStats)}, error kinds ${JSON.stringify(r.errors ? (r as unknown as { errorsByType?: unknown }).errorsByType ?? null : null)}`)
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: wrong }
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

/** `wrangler dev` running a Worker that answers the same bytes from memory (constant-worker.ts). */
async function startConstantWorker(body: string): Promise<{ url: string; close(): Promise<void> }> {
  const root = resolve(import.meta.dirname, '../..')
  const dir = mkdtempSync(join(tmpdir(), 'cco-bench-constant-'))
  writeFileSync(
    join(dir, 'wrangler.toml'),
    `name = "cco-bench-constant"\nmain = ${JSON.stringify(join(root, 'scripts/bench/constant-worker.ts'))}\ncompatibility_date = "2026-11-01"\nsend_metrics = false\n`,
  )
  const port = await freePort()
  const child = spawn(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', join(dir, 'state'), '--var', `BODY:${body}`, '--show-interactive-dev-session=false', '--log-level', 'warn'], {
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
    const constant = await startConstantWorker(body.toString())
    try {
      log(`manifest load: ${o.connections} connections, ${o.duration} s per run; baseline ${baseline.kind}`)
      const hit = await load(url, o)
      const hitBase = await load(baseline.url, o)
      const hitConstant = await load(constant.url, o)
      const nm = await load(url, o, { 'if-none-match': etag }, 304)
      const nmBase = await load(baseline.url, o, { 'if-none-match': baseline.etag }, 304)
      for (const [what, r] of Object.entries({ hit, hitBase, hitConstant, nm, nmBase })) {
        if (r.errors > 0) throw new Error(`${what}: ${r.errors} errors or unexpected statuses under load`)
      }

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

      const base = (value: number) => ({ name: baseline.kind.split(' ')[0]!, value })
      return [
        { name: 'manifest GET, edge-cache hit: throughput', value: hit.rps, unit: 'req/s', baseline: base(hitBase.rps), better: 'higher' },
        { name: 'manifest GET, edge-cache hit: p50 latency', value: hit.p50, unit: 'ms', baseline: base(hitBase.p50), better: 'lower' },
        { name: 'manifest GET, edge-cache hit: p99 latency', value: hit.p99, unit: 'ms', baseline: base(hitBase.p99), better: 'lower' },
        { name: 'manifest GET, edge-cache hit: throughput', value: hit.rps, unit: 'req/s', baseline: { name: 'wrangler dev, same bytes from memory', value: hitConstant.rps }, better: 'higher' },
        { name: 'manifest GET, edge-cache hit: p50 latency', value: hit.p50, unit: 'ms', baseline: { name: 'wrangler dev, same bytes from memory', value: hitConstant.p50 }, better: 'lower' },
        { name: 'manifest GET, 304: throughput', value: nm.rps, unit: 'req/s', baseline: base(nmBase.rps), better: 'higher' },
        { name: 'manifest GET, 304: p50 latency', value: nm.p50, unit: 'ms', baseline: base(nmBase.p50), better: 'lower' },
        { name: 'manifest GET, 304: p99 latency', value: nm.p99, unit: 'ms', baseline: base(nmBase.p99), better: 'lower' },
        { name: 'signed manifest, five platforms', value: body.length, unit: 'bytes', baseline: { name: 'the same payload unsigned', value: unsigned }, better: 'lower' },
        { name: 'one 304 exchange (request + response)', value: cond.request + cond.response, unit: 'bytes', baseline: base(condBase.request + condBase.response), better: 'lower' },
        { name: 'one full 200 exchange', value: full.request + full.response, unit: 'bytes', baseline: { name: 'a 304 exchange', value: cond.request + cond.response }, better: 'lower' },
        { name: 'webhook → new manifest served (median)', value: median(samples), unit: 'ms', baseline: { name: 'one manifest GET', value: median(rtt) }, better: 'lower', note: `${o.webhookSamples} releases` },
      ]
    } finally {
      await baseline.close()
      await constant.close()
    }
  } finally {
    await broker.stop()
  }
}
