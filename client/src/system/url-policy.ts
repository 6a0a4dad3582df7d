// Which URLs cco may talk to: https anywhere, plain http only to this machine (client/README.md).

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the host. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost' || h === '::1') return true
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h)
  return m !== null && m.slice(1).every((n) => Number(n) <= 255)
}

/** Why a URL may not be used, or null when it may. */
export function transportProblem(url: URL): string | null {
  if (url.protocol === 'https:') return null
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? null : `plain http:// is only allowed to loopback hosts, not ${url.hostname}`
  }
  return `unsupported URL scheme ${url.protocol}`
}

/** A URL for messages and logs: never shows credentials. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url)
    if (!u.username && !u.password) return typeof url === 'string' ? url : u.href
    u.username = '***'
    u.password = ''
    return u.href
  } catch {
    return '<invalid URL>'
  }
}

/**
 * Any config or environment value that may hold a URL, for messages and logs: the user info
 * (`user:password@`) is replaced by `***@` even when the text does not parse as a URL or has
 * no scheme (`socks5://user:pw@h`, `user:pw@proxy:8080`), where redactUrl could not help.
 * The user info runs to the last `@` before the path, as in a URL (a password may hold `@`).
 */
export function redactCredentials(text: string): string {
  return text.replace(/\/\/[^\s/?#]*@/g, '//***@').replace(/^(\s*)[^\s/?#]*@/, '$1***@')
}
