// Downloads a release's checksums file for the Durable Object's alarm: every redirect hop
// must stay on ASSET_HOSTS, the whole exchange has a deadline and the body a size cap.
import type { AssetHost } from '../config.ts'
import { assetUrlProblem } from '../policy/asset-hosts.ts'
import { CHECKSUMS_MAX_BYTES } from '../policy/checksums.ts'
import { readCapped } from '../read-capped.ts'

export const CHECKSUMS_TIMEOUT_MS = 10_000
const MAX_REDIRECTS = 5

export type ChecksumsFetch =
  | { ok: true; text: string }
  /** `retry: false` for answers that another attempt cannot change (host, size). */
  | { ok: false; error: string; retry: boolean }

export async function fetchChecksums(url: string, assetHosts: readonly AssetHost[]): Promise<ChecksumsFetch> {
  const signal = AbortSignal.timeout(CHECKSUMS_TIMEOUT_MS)
  let current = url
  try {
    for (let hop = 0; ; hop++) {
      const problem = assetUrlProblem(current, assetHosts)
      if (problem) return { ok: false, error: `${hop === 0 ? 'URL' : 'redirect target'} ${problem}`, retry: false }
      // Redirects are followed by hand so that each hop is checked against ASSET_HOSTS.
      const headers = { accept: 'application/octet-stream, text/plain', 'user-agent': 'cco-release-broker' }
      const res = await fetch(current, { redirect: 'manual', signal, headers })
      if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
        await res.body?.cancel()
        if (hop >= MAX_REDIRECTS) return { ok: false, error: 'too many redirects', retry: false }
        current = new URL(res.headers.get('location')!, current).href
        continue
      }
      if (!res.ok) {
        await res.body?.cancel()
        return { ok: false, error: `HTTP ${res.status}`, retry: true }
      }
      const bytes = await readCapped(res.body, CHECKSUMS_MAX_BYTES, res.headers.get('content-length'))
      if (bytes === null) return { ok: false, error: `larger than ${CHECKSUMS_MAX_BYTES} bytes`, retry: false }
      return { ok: true, text: new TextDecoder().decode(bytes) }
    }
  } catch (err) {
    const timedOut = signal.aborted
    return { ok: false, error: timedOut ? `no answer within ${CHECKSUMS_TIMEOUT_MS / 1000} s` : `network error: ${(err as Error).message}`, retry: true }
  }
}
