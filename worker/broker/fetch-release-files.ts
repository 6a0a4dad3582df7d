// The alarm's fetch job: downloads what a release's assessment asks for before it can be
// decided, in the order it asks: the checksums file (when a file lacks GitHub's digest), then
// every block map (the binary's size and sha256 are in them). The assessment itself
// (policy/assess-release.ts) stays pure; this only runs the downloads it names. Off the
// webhook's request path; each download is on ASSET_HOSTS at every hop, with a deadline and a cap.
import { BLOCKMAP_MAX_BYTES } from '../../contract/blockmap.ts'
import type { AssetHost } from '../config.ts'
import { assessRelease } from '../policy/assess-release.ts'
import type { FetchedBlockMap } from '../policy/delta-assets.ts'
import type { GithubRelease } from '../policy/github-release.ts'
import type { FetchResult } from '../policy/release-lifecycle.ts'
import { fetchCapped } from './fetch-allowed.ts'
import { fetchChecksums } from './fetch-checksums.ts'

/** A block map is at most 4 MiB: more time than a checksums file, still far below an archive's. */
export const BLOCKMAP_TIMEOUT_MS = 30_000

/** Each step adds a file the assessment asked for; it asks for each kind at most once. */
const MAX_STEPS = 3

export async function fetchReleaseFiles(source: GithubRelease, o: { assetHosts: readonly AssetHost[]; now: string }): Promise<FetchResult> {
  const got: { checksums?: { name: string; text: string }; blockmaps?: Record<string, FetchedBlockMap> } = {}
  for (let step = 0; step < MAX_STEPS; step++) {
    const a = assessRelease(source, { assetHosts: o.assetHosts, now: o.now, ...got })
    if (a.kind === 'fetch-checksums') {
      const { name, url } = a.checksums
      const fetched = await fetchChecksums(url, o.assetHosts)
      if (!fetched.ok) return { ...fetched, file: { kind: 'checksums', name, url } }
      got.checksums = { name, text: fetched.text }
    } else if (a.kind === 'fetch-blockmaps') {
      const maps: Record<string, FetchedBlockMap> = {}
      for (const { name, url } of a.blockmaps) {
        const fetched = await fetchCapped(url, o.assetHosts, { maxBytes: BLOCKMAP_MAX_BYTES, timeoutMs: BLOCKMAP_TIMEOUT_MS, accept: 'application/json, application/octet-stream' })
        if (!fetched.ok) return { ...fetched, file: { kind: 'blockmap', name, url } }
        maps[name] = { bytes: fetched.bytes, sha256: hex(await crypto.subtle.digest('SHA-256', fetched.bytes)) }
      }
      got.blockmaps = maps
    } else break
  }
  return { ok: true, ...got }
}

function hex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('')
}
