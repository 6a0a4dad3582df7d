// The stand-in download host's `file()`: a single `Range` answered as GitHub's and R2's hosts
// do (206, Content-Range, 416 past the end), and the per-path faults the differential update
// tests need (a server that ignores Range, bytes changed in transit), all in the request log.
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRange, startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'

let server: ReleaseServer
const BODY = randomBytes(10_000)

beforeAll(async () => {
  server = await startReleaseServer()
})
afterAll(() => server.close())

/** A GET (or HEAD) with the given headers; fetch would add its own, so plain node:http. */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('file()', () => {
  it('answers 200 with the whole file and says it accepts ranges', async () => {
    server.file('/whole', BODY)
    const r = await get('/whole')
    expect(r.status).toBe(200)
    expect(r.headers['accept-ranges']).toBe('bytes')
    expect(r.headers['content-length']).toBe(String(BODY.length))
    expect(r.body.equals(BODY)).toBe(true)
    expect(server.requests.at(-1)).toMatchObject({ path: '/whole', status: 200, bytes: BODY.length })
    expect(server.requests.at(-1)!.range).toBeUndefined()
  })

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=100-199', 100, 199],
    ['bytes=9000-', 9000, 9999],
    ['bytes=9990-20000', 9990, 9999],
    ['bytes=-10', 9990, 9999],
  ])('answers %s with 206 and exactly those bytes', async (range, first, last) => {
    server.file('/ranged', BODY)
    const r = await get('/ranged', { range })
    expect(r.status).toBe(206)
    expect(r.headers['content-range']).toBe(`bytes ${first}-${last}/${BODY.length}`)
    expect(r.headers['content-length']).toBe(String(last - first + 1))
    expect(r.body.equals(BODY.subarray(first, last + 1))).toBe(true)
    expect(server.requests.at(-1)).toMatchObject({ status: 206, bytes: last - first + 1, range: { first, last } })
  })

  it('answers a range past the end with 416 and the size', async () => {
    server.file('/short', BODY)
    const r = await get('/short', { range: `bytes=${BODY.length}-` })
    expect(r.status).toBe(416)
    expect(r.headers['content-range']).toBe(`bytes */${BODY.length}`)
    expect(r.body.length).toBe(0)
  })

  it('sends the whole file for several ranges, a malformed one or an If-Range', async () => {
    server.file('/many', BODY)
    for (const headers of [{ range: 'bytes=0-1,5-6' }, { range: 'bytes=5-1' }, { range: 'items=0-1' }, { range: 'bytes=0-1', 'if-range': '"v1"' }] as Array<Record<string, string>>) {
      const r = await get('/many', headers)
      expect(r.status, JSON.stringify(headers)).toBe(200)
      expect(r.body.equals(BODY)).toBe(true)
    }
  })

  it('answers a HEAD with the headers and no body', async () => {
    server.file('/head', BODY)
    const r = await get('/head', { range: 'bytes=0-99' }, 'HEAD')
    expect(r.status).toBe(206)
    expect(r.body.length).toBe(0)
    expect(server.requests.at(-1)).toMatchObject({ method: 'HEAD', bytes: 0 })
  })

  it('ignores Range on a path switched to ignoreRange, and honours it again when switched back', async () => {
    server.file('/ignoring', BODY, { ignoreRange: true })
    const r = await get('/ignoring', { range: 'bytes=0-99' })
    expect(r.status).toBe(200)
    expect(r.headers['accept-ranges']).toBeUndefined()
    expect(r.body.equals(BODY)).toBe(true)
    server.fileOptions('/ignoring', {})
    expect((await get('/ignoring', { range: 'bytes=0-99' })).status).toBe(206)
    expect(() => server.fileOptions('/never-served', {})).toThrow('not served by file()')
  })

  it('sends what the tamper hook makes of a range, and the file unchanged without a range', async () => {
    server.file('/tampered', BODY, {
      tamper: (bytes, first) => {
        if (first <= 50 && 50 < first + bytes.length) bytes[50 - first]! ^= 0xff
        return bytes
      },
    })
    const r = await get('/tampered', { range: 'bytes=40-59' })
    expect(r.status).toBe(206)
    const expected = Buffer.from(BODY.subarray(40, 60))
    expected[10]! ^= 0xff
    expect(r.body.equals(expected)).toBe(true)
    expect((await get('/tampered', { range: 'bytes=60-69' })).body.equals(BODY.subarray(60, 70))).toBe(true)
    // The file itself was not changed by the hook.
    expect((await get('/tampered')).body.equals(BODY)).toBe(true)
  })

  it('counts the body bytes it sent per path', async () => {
    server.file('/counted-a', BODY)
    server.file('/counted-b', BODY)
    await get('/counted-a', { range: 'bytes=0-99' })
    await get('/counted-a', { range: 'bytes=1000-1049' })
    await get('/counted-b')
    expect(server.bytesServed((p) => p === '/counted-a')).toBe(150)
    expect(server.bytesServed((p) => p.startsWith('/counted-'))).toBe(150 + BODY.length)
  })
})

describe('parseRange', () => {
  it('reads one range of bytes and nothing else', () => {
    expect(parseRange(undefined, 10)).toBeNull()
    expect(parseRange('bytes=-', 10)).toBeNull()
    expect(parseRange('bytes=3-', 10)).toEqual({ first: 3, last: 9 })
    expect(parseRange('bytes=-20', 10)).toEqual({ first: 0, last: 9 })
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable')
    expect(parseRange('bytes=10-12', 10)).toBe('unsatisfiable')
  })
})
