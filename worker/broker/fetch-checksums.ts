// Downloads a release's checksums file for the Durable Object's alarm: every redirect hop
// must stay on ASSET_HOSTS, the whole exchange has a deadline and the body a size cap.
import type { AssetHost } from '../config.ts'
import { CHECKSUMS_MAX_BYTES } from '../policy/checksums.ts'
import { fetchCapped } from './fetch-allowed.ts'

export const CHECKSUMS_TIMEOUT_MS = 10_000

export type ChecksumsFetch =
  | { ok: true; text: string }
  /** `retry: false` for answers that another attempt cannot change (host, size). */
  | { ok: false; error: string; retry: boolean }

export async function fetchChecksums(url: string, assetHosts: readonly AssetHost[]): Promise<ChecksumsFetch> {
  const fetched = await fetchCapped(url, assetHosts, { maxBytes: CHECKSUMS_MAX_BYTES, timeoutMs: CHECKSUMS_TIMEOUT_MS, accept: 'application/octet-stream, text/plain' })
  return fetched.ok ? { ok: true, text: new TextDecoder().decode(fetched.bytes) } : fetched
}
