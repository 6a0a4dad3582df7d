// The one HTTP stack for manifests, downloads and the admin API: undici with proxy support
// (environment or config), an optional extra CA, timeouts, a generic User-Agent and a redirect
// policy that re-checks every hop (https, or http only to loopback).
import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { getCACertificates } from 'node:tls'
import type { Dispatcher, EnvHttpProxyAgent } from 'undici'
import { CliError, messageOf, NetworkError, RefusedError, UsageError } from '../errors.ts'
import { envAny, envValue, type Env } from './env.ts'
import { redactUrl, transportProblem } from './url-policy.ts'

// undici is loaded on the first request, not when this module is: it is about a fifth of the
// start-up of commands that make no request (`cco version`, `cco config …`, `cco --help`).
let undici: Promise<typeof import('undici')> | undefined
const loadUndici = () => (undici ??= import('undici'))

export interface HttpClientOptions {
  env: Env
  userAgent: string
  /** `network.proxy`: overrides HTTP(S)_PROXY for both schemes. */
  proxy?: string | undefined
  /** `network.no_proxy`: overrides NO_PROXY. */
  noProxy?: string | undefined
  /** `network.ca_file`: a PEM bundle trusted in addition to the system's (TLS-intercepting proxies). */
  caFile?: string | undefined
  connectTimeoutMs?: number
}

export interface GetOptions {
  headers?: Record<string, string>
  /** Aborts the whole exchange (a total deadline). */
  signal?: AbortSignal
  /** Longest wait for the response headers. */
  headersTimeoutMs?: number
  /** Longest gap between two body chunks (a stall). */
  bodyTimeoutMs?: number
  maxRedirects?: number
}

/** One request that is not a plain download (the admin API): no redirects are followed. */
export interface SendOptions extends Omit<GetOptions, 'maxRedirects'> {
  method: 'GET' | 'POST'
  body?: string
}

export interface HttpResponse {
  url: URL
  status: number
  headers: IncomingHttpHeaders
  body: Dispatcher.ResponseData['body']
}

export interface HttpClient {
  get(url: string | URL, options?: GetOptions): Promise<HttpResponse>
  /** Sends one request as is; a 3xx is returned, not followed (credentials stay with the URL asked for). */
  send(url: string | URL, options: SendOptions): Promise<HttpResponse>
  /** The proxy a request to `url` would go through, without credentials (for messages). */
  proxyFor(url: URL): string | null
  close(): Promise<void>
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000
export const DEFAULT_BODY_TIMEOUT_MS = 30_000
export const MAX_REDIRECTS = 5
const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** The proxy variables cco reads, each in both spellings (undici reads the same ones). */
export const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy'] as const

/** `http://***@proxy:3128`: whatever comes before the last `@` may be a password, also in a malformed value. */
function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1***@')
}

/** Why a proxy variable's value is not a proxy URL undici can use, or null when it is. */
export function proxyVariableProblem(value: string): string | null {
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(value)) return 'it contains spaces or control characters'
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'it has no scheme (write it as http://host:port)'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'it is not a URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the scheme ${url.protocol}// is not supported (only http:// and https://)`
  if (!url.hostname) return 'it has no host'
  return null
}

/**
 * A malformed proxy variable is a usage error (exit 2) before any request: undici would
 * otherwise fail each request with a message that names neither the variable nor its value,
 * or (a value it cannot read) quietly connect directly. Every set spelling is checked, also
 * the one undici would not pick, since both are meant to say the same thing. `NO_PROXY` is a
 * list of patterns that cannot be malformed in a way that sends traffic anywhere else, so it
 * stays lenient. Not checked when `network.proxy` overrides the variables.
 */
export function checkProxyVariables(env: Env): void {
  for (const name of PROXY_VARIABLES) {
    const value = envValue(env, name)
    if (value === undefined) continue
    const problem = proxyVariableProblem(value)
    if (problem) {
      throw new UsageError(
        `invalid proxy variable ${name}=${JSON.stringify(withoutCredentials(value))}: ${problem}; expected a proxy URL such as http://proxy.example.com:3128, or unset it`,
      )
    }
  }
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { env } = options
  if (options.proxy === undefined) checkProxyVariables(env)
  const httpProxy = options.proxy ?? envAny(env, 'http_proxy', 'HTTP_PROXY')
  const httpsProxy = options.proxy ?? envAny(env, 'https_proxy', 'HTTPS_PROXY') ?? httpProxy
  const noProxy = options.noProxy ?? envAny(env, 'no_proxy', 'NO_PROXY') ?? ''

  let ca: string[] | undefined
  if (options.caFile) {
    let pem: string
    try {
      pem = readFileSync(options.caFile, 'utf8')
    } catch (err) {
      throw new UsageError(`cannot read network.ca_file ${options.caFile}: ${messageOf(err)}`, { cause: err })
    }
    // Passing `ca` replaces Node's roots, so start from the default set (which already
    // includes NODE_EXTRA_CA_CERTS) and add the configured bundle.
    ca = [...getCACertificates('default'), pem]
  }
  const tls = ca ? { ca } : {}
  const agentOptions: ConstructorParameters<typeof EnvHttpProxyAgent>[0] = {
    httpProxy,
    httpsProxy,
    noProxy,
    // Plain-http requests are forwarded to the proxy as absolute-URI requests (as curl
    // does); https goes through CONNECT, so the proxy never sees the content.
    proxyTunnel: false,
    connect: { timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, ...tls },
    requestTls: tls,
    proxyTls: tls,
    headersTimeout: DEFAULT_HEADERS_TIMEOUT_MS,
    bodyTimeout: DEFAULT_BODY_TIMEOUT_MS,
  }
  let agent: Promise<EnvHttpProxyAgent> | undefined
  const dispatcher = () => (agent ??= loadUndici().then((u) => new u.EnvHttpProxyAgent(agentOptions)))

  const proxyFor = (url: URL): string | null => {
    const p = url.protocol === 'https:' ? httpsProxy : httpProxy
    return p ? redactUrl(p).replace(/\/$/, '') : null
  }

  /** One request, no redirects followed; the transport rules are checked by the callers. */
  async function once(url: URL, opts: SendOptions): Promise<HttpResponse> {
    const [{ request }, viaAgent] = await Promise.all([loadUndici(), dispatcher()])
    let res: Dispatcher.ResponseData
    try {
      res = await request(url, {
        dispatcher: viaAgent,
        method: opts.method,
        headers: { 'user-agent': options.userAgent, ...opts.headers },
        body: opts.body,
        signal: opts.signal,
        headersTimeout: opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
        bodyTimeout: opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
        // One connection per request (Connection: close). A run makes two or three requests,
        // and some proxies (tinyproxy among them) close client connections after each
        // response while forwarding the origin's keep-alive: a reused socket would fail.
        reset: true,
      })
    } catch (err) {
      throw networkError(err, url, proxyFor(url))
    }
    if (res.statusCode === 407) {
      await res.body.dump().catch(() => {})
      throw proxyAuthError(proxyFor(url))
    }
    return { url, status: res.statusCode, headers: res.headers, body: res.body }
  }

  /** A request with a method and body (the admin API): redirects are not followed, so a token goes only where it was meant to. */
  async function send(input: string | URL, opts: SendOptions): Promise<HttpResponse> {
    const url = new URL(input)
    const problem = transportProblem(url)
    if (problem) throw new RefusedError('insecure-url', `refused to send to ${redactUrl(url)}: ${problem}`)
    return once(url, opts)
  }

  /** A GET that follows up to `maxRedirects` redirects, checking every hop's transport. */
  async function get(input: string | URL, opts: GetOptions = {}): Promise<HttpResponse> {
    let url = new URL(input)
    const maxRedirects = opts.maxRedirects ?? MAX_REDIRECTS
    for (let hop = 0; ; hop++) {
      const problem = transportProblem(url)
      if (problem) {
        throw new RefusedError('insecure-url', `refused to fetch ${redactUrl(url)}${hop ? ' (redirect)' : ''}: ${problem}`)
      }
      const res = await once(url, { ...opts, method: 'GET' })
      const location = res.headers.location
      if (REDIRECTS.has(res.status) && typeof location === 'string') {
        await res.body.dump().catch(() => {})
        if (hop + 1 > maxRedirects) {
          throw new NetworkError(`too many redirects (more than ${maxRedirects}) fetching ${redactUrl(input)}`)
        }
        url = new URL(location, url)
        continue
      }
      return res
    }
  }

  return { get, send, proxyFor, close: async () => (agent ? (await agent).close() : undefined) }
}

function proxyAuthError(proxy: string | null): NetworkError {
  return new NetworkError(
    `proxy authentication required (HTTP 407) from ${proxy ?? 'the proxy'}: set credentials in HTTP(S)_PROXY as http://user:pass@host:port`,
  )
}

/** Turns undici's and the socket's errors into one clear NetworkError (exit 3). */
export function networkError(err: unknown, url: URL, proxy: string | null): CliError {
  if (err instanceof CliError) return err
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } }
  const message = e.message ?? String(err)
  const where = redactUrl(url.origin)
  if (/Proxy Authentication Required \(407\)|Proxy response \(407\)/.test(message)) return proxyAuthError(proxy)
  const via = proxy ? ` via proxy ${proxy}` : ''
  switch (e.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new NetworkError(`connection to ${where}${via} timed out`, { cause: err })
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new NetworkError(`no response from ${where}${via} in time`, { cause: err })
    case 'UND_ERR_BODY_TIMEOUT':
      return new NetworkError(`transfer from ${where} stalled (no data received in time)`, { cause: err })
  }
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.code === 'UND_ERR_ABORTED' || e.code === 'ABORT_ERR') {
    return new NetworkError(`request to ${where} took too long and was abandoned`, { cause: err })
  }
  const code = e.cause?.code ?? e.code
  const detail = code && !message.includes(code) ? `${code}: ${message}` : message
  return new NetworkError(`cannot reach ${where}${via}: ${detail}`, { cause: err })
}

/** Drops a response body we will not read, without an unhandled 'error' from the abort. */
export function discardBody(body: HttpResponse['body']): void {
  body.on('error', () => {})
  body.destroy()
}

/** Reads a whole body, refusing it as soon as it passes `maxBytes` (before any parsing). */
export async function readBodyCapped(
  body: HttpResponse['body'],
  maxBytes: number,
  tooLarge: () => Error,
  expectedLength?: number,
): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer
      total += buf.length
      if (total > maxBytes) break
      chunks.push(buf)
    }
  } catch (err) {
    // A connection dropped right after the last announced byte is a complete body (see
    // download.ts); anything else is the caller's network error.
    if (expectedLength === undefined || total !== expectedLength) throw err
  }
  if (total > maxBytes) {
    discardBody(body)
    throw tooLarge()
  }
  return Buffer.concat(chunks, total)
}
