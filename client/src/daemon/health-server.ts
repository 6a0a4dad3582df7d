// The daemon's HTTP server: `GET /health` (and HEAD) with one compact JSON line, JSON 404 for
// other paths, 405 for other methods. Bound to a loopback address only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { CliError, ExitCode, errnoCode, messageOf } from '../errors.ts'
import type { HealthBody } from '../system/health-probe.ts'
import { FORCED_HEALTH_STATUS } from './test-build.ts'

export interface HealthServer {
  listen(host: string, port: number): Promise<void>
  /** Stops listening and drops open connections; resolves when the port is free. */
  close(): Promise<void>
  readonly listening: boolean
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
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, req, 405, { error: 'method not allowed', allowed: ['GET', 'HEAD'] }, { allow: 'GET, HEAD' })
      return
    }
    if (path !== '/health') {
      send(res, req, 404, { error: 'not found', path })
      return
    }
    const body = health()
    if (FORCED_HEALTH_STATUS !== null) {
      send(res, req, FORCED_HEALTH_STATUS, { ...body, status: 'unhealthy' })
      return
    }
    send(res, req, 200, body)
  })
  // Idle keep-alive connections would hold the port open past close().
  server.keepAliveTimeout = 2_000
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  return {
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
