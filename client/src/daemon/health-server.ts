// The daemon's HTTP server: `GET /health` (and HEAD) with one compact JSON line, JSON 404 for
// other paths, 405 for other methods. Bound to a loopback address only, and answering only
// requests addressed to a loopback name (the Host header), so that a web page whose name was
// re-pointed at 127.0.0.1 (DNS rebinding) cannot read it: anything else gets 421 and no data.
// A request with a challenge gets the daemon's proof (system/daemon-identity.ts) in a header.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { CliError, ExitCode, errnoCode, messageOf } from '../errors.ts'
import { CHALLENGE_HEADER, daemonProof, isChallenge, newProofKey, PROOF_HEADER } from '../system/daemon-identity.ts'
import type { HealthBody } from '../system/health-probe.ts'
import { FORCED_HEALTH_STATUS } from './test-build.ts'

export interface HealthServer {
  listen(host: string, port: number): Promise<void>
  /** Stops listening and drops open connections; resolves when the port is free. */
  close(): Promise<void>
  readonly listening: boolean
  /** This run's secret: written into the pid file, answered to challenges as an HMAC only. */
  readonly proofKey: string
}

// `localhost`, `127.0.0.0/8` as a dotted quad without leading zeros, `[::1]`; an optional port.
const LOOPBACK_AUTHORITY = /^(?:localhost|127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|\[::1\])(?::\d{1,5})?$/i

/** Whether a Host header (or an absolute request target's authority) names this machine. */
export function isLoopbackAuthority(authority: string | undefined): boolean {
  return authority !== undefined && LOOPBACK_AUTHORITY.test(authority)
}

/**
 * The request is addressed to this machine: exactly one Host header naming a loopback host
 * (HTTP/1.0 included), and an absolute-form target, if any, naming one too.
 */
function addressedToLoopback(req: IncomingMessage): boolean {
  const hosts: string[] = []
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts.push(req.rawHeaders[i + 1]!)
  if (hosts.length !== 1 || !isLoopbackAuthority(hosts[0])) return false
  const target = req.url ?? '/'
  if (target.startsWith('/')) return true
  try {
    const url = new URL(target)
    return url.protocol === 'http:' && isLoopbackAuthority(url.host)
  } catch {
    return false
  }
}

function send(res: ServerResponse, req: IncomingMessage, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  })
  res.end(req.method === 'HEAD' ? undefined : text)
}

export function portInUseMessage(host: string, port: number): string {
  return (
    `port ${port} is already in use on ${host} (is another cco daemon running? \`cco daemon status\`); ` +
    `choose another with \`cco config set daemon.port N\` or \`cco run --port N\``
  )
}

export function createHealthServer(health: () => HealthBody): HealthServer {
  const sockets = new Set<Socket>()
  const proofKey = newProofKey()
  const server: Server = createServer((req, res) => {
    if (!addressedToLoopback(req)) {
      send(res, req, 421, { error: 'misdirected request: this daemon answers only to localhost, 127.x.x.x or [::1]' }, { connection: 'close' })
      return
    }
    let path: string
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname
    } catch {
      send(res, req, 400, { error: 'bad request target' })
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, req, 405, { error: 'method not allowed', allowed: ['GET', 'HEAD'] }, { allow: 'GET, HEAD' })
      return
    }
    if (path !== '/health') {
      send(res, req, 404, { error: 'not found', path })
      return
    }
    const body = health()
    const challenge = req.headers[CHALLENGE_HEADER]
    const proof: Record<string, string> = isChallenge(challenge) ? { [PROOF_HEADER]: daemonProof(proofKey, challenge, process.pid) } : {}
    if (FORCED_HEALTH_STATUS !== null) {
      send(res, req, FORCED_HEALTH_STATUS, { ...body, status: 'unhealthy' }, proof)
      return
    }
    send(res, req, 200, body, proof)
  })
  // Idle keep-alive connections would hold the port open past close().
  server.keepAliveTimeout = 2_000
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  return {
    proofKey,
    get listening() {
      return server.listening
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => {
          server.off('listening', onListening)
          const code = errnoCode(err)
          if (code === 'EADDRINUSE') reject(new CliError(portInUseMessage(host, port), ExitCode.failure, { cause: err }))
          else if (code === 'EACCES') reject(new CliError(`not allowed to listen on ${host}:${port} (${code}); choose a port above 1023`, ExitCode.failure, { cause: err }))
          else reject(new CliError(`cannot listen on ${host}:${port}: ${messageOf(err)}`, ExitCode.failure, { cause: err }))
        }
        const onListening = () => {
          server.off('error', onError)
          resolve()
        }
        server.once('error', onError)
        server.once('listening', onListening)
        server.listen({ host, port, exclusive: true })
      })
    },
    close() {
      return new Promise((resolve) => {
        if (!server.listening) return resolve()
        server.close(() => resolve())
        server.closeAllConnections()
        for (const s of sockets) s.destroy()
      })
    },
  }
}
