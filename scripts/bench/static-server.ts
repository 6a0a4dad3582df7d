// The baseline for the manifest benchmarks: a plain static file server on the same machine
// serving the same bytes. nginx (Debian's nginx-light) when it is installed, else Node's own
// `http` serving the file from memory with a strong ETag and 304s; the result says which.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../support/ports.ts'

export interface StaticServer {
  kind: string
  url: string
  /** The ETag it serves for the file (to send in If-None-Match). */
  etag: string
  close(): Promise<void>
}

function nginxBinary(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate
  }
  return null
}

export async function startStaticServer(path: string, body: Buffer, mediaType: string): Promise<StaticServer> {
  const nginx = nginxBinary()
  return nginx ? startNginx(nginx, path, body, mediaType) : startNode(path, body, mediaType)
}

async function startNginx(nginx: string, path: string, body: Buffer, mediaType: string): Promise<StaticServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cco-bench-nginx-'))
  // nginx started as root serves from unprivileged worker processes: they must be able to read.
  chmodSync(dir, 0o755)
  const root = join(dir, 'root')
  mkdirSync(join(root, ...path.split('/').slice(0, -1)), { recursive: true })
  writeFileSync(join(root, path), body)
  const port = await freePort()
  // One worker per core, like the defaults of a packaged nginx; logs off so disk I/O does not
  // count against it.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes auto;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  types { ${mediaType} ${path.split('/').pop()}; }
  default_type ${mediaType};
  server {
    listen 127.0.0.1:${port};
    location / { root ${root}; add_header Cache-Control "max-age=60, stale-if-error=86400"; }
  }
}
`,
  )
  mkdirSync(join(dir, 'tmp'))
  const child: ChildProcess = spawn(nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}/${path}`
  let etag = ''
  for (let i = 0; i < 100 && !etag; i++) {
    await new Promise((r) => setTimeout(r, 50))
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      etag = res.headers.get('etag') ?? ''
    } catch {}
  }
  if (!etag) {
    child.kill('SIGKILL')
    throw new Error(`nginx did not start (see ${join(dir, 'error.log')})`)
  }
  return {
    kind: 'nginx (Debian nginx-light, static file)',
    url,
    etag,
    async close() {
      child.kill('SIGQUIT')
      await new Promise((r) => child.once('exit', r))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function startNode(path: string, body: Buffer, mediaType: string): Promise<StaticServer> {
  const etag = `"${createHash('sha256').update(body).digest('hex')}"`
  const server = createServer((req, res) => {
    if (req.url !== `/${path}`) {
      res.writeHead(404).end()
      return
    }
    const headers = { etag, 'cache-control': 'max-age=60, stale-if-error=86400' }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end()
      return
    }
    res.writeHead(200, { ...headers, 'content-type': mediaType, 'content-length': body.length }).end(body)
  })
  const port = await freePort()
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return {
    kind: "Node's http (nginx not installed)",
    url: `http://127.0.0.1:${port}/${path}`,
    etag,
    close: () => new Promise((r) => server.close(() => r())),
  }
}
