// The bench's load runs (scripts/bench/load.ts) against a real local HTTP server that resets
// chosen sockets or answers a wrong status: errors are counted by kind, and a run fails only
// above 0.1 %.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_ERROR_RATE, checkErrorRate, drive, errorNote, errorRate, loadRun } from '../../scripts/bench/load.ts'

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((r) => server?.close(r) ?? r(undefined))
  server = undefined
})

/** A server that resets the socket of the requests `reset(n)` picks (n counts from 1), and answers `status(n)` otherwise. */
async function serve(reset: (n: number) => boolean, status: (n: number) => number = () => 200): Promise<string> {
  let n = 0
  server = createServer((req, res) => {
    const i = ++n
    if (reset(i)) return req.socket.resetAndDestroy()
    res.writeHead(status(i), { 'x-cco-source': i === 1 ? 'do' : 'cache' }).end('ok')
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`
}

describe('error rate', () => {
  it('passes a run at the threshold and fails one above it, naming the kinds', () => {
    expect(MAX_ERROR_RATE).toBe(0.001)
    expect(() => checkErrorRate('run', { requests: 1000, errors: { ECONNRESET: 1 } })).not.toThrow()
    expect(() => checkErrorRate('run', { requests: 1000, errors: { ECONNRESET: 1, 'HTTP 500': 1 } })).toThrow(/run: errors 0\.200 % of 1000 \(ECONNRESET 1, HTTP 500 1\)/)
    expect(() => checkErrorRate('run', { requests: 0, errors: {} })).toThrow()
    expect(errorNote({ requests: 225_000, errors: {} })).toBe('errors 0.000 % of 225000')
  })
})

describe('drive (fetch)', () => {
  it('counts a reset socket as ECONNRESET instead of aborting, and tallies answers', async () => {
    const url = await serve((n) => n === 5)
    const sources: Record<string, number> = {}
    const r = await drive(2000, 4, () => fetch(url), (s) => s === 200, (res) => {
      const s = res.headers.get('x-cco-source')!
      sources[s] = (sources[s] ?? 0) + 1
    })
    expect(r.requests).toBe(2000)
    expect(r.errors).toEqual({ ECONNRESET: 1 })
    expect(errorRate(r)).toBe(1 / 2000)
    expect(() => checkErrorRate('drive', r)).not.toThrow()
    expect(sources).toEqual({ do: 1, cache: 1998 })
  })

  it('counts unexpected statuses by status', async () => {
    const url = await serve(() => false, (n) => (n % 10 === 0 ? 503 : 200))
    const r = await drive(100, 2, () => fetch(url), (s) => s === 200)
    expect(r.errors).toEqual({ 'HTTP 503': 10 })
    expect(() => checkErrorRate('drive', r)).toThrow(/HTTP 503 10/)
  })
})

describe('loadRun (autocannon)', () => {
  it('keeps a run with one reset socket, counting it by its code', async () => {
    const url = await serve((n) => n === 50)
    const r = await loadRun(url, { connections: 2, duration: 1 })
    expect(r.errors).toEqual({ ECONNRESET: 1 })
    expect(r.requests).toBeGreaterThan(1000)
    expect(() => checkErrorRate('load', r)).not.toThrow()
  })

  it('counts answers other than the expected status', async () => {
    const url = await serve(() => false)
    const r = await loadRun(url, { connections: 1, duration: 1, expect: 304 })
    expect(Object.keys(r.errors)).toEqual(['HTTP 200'])
    expect(r.errors['HTTP 200']).toBe(r.requests)
    expect(() => checkErrorRate('load', r)).toThrow(/HTTP 200/)
  })
})
