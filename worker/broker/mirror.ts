// The asset mirror: copies a release's archives into the optional R2 bucket ASSETS_BUCKET, so
// that hosts download from the broker's own origin. Runs in the Durable Object's alarm, never
// on a request path. Each copy streams from the recorded download URL (every redirect hop on
// ASSET_HOSTS) into R2 while hashing the same bytes; an object whose size or sha256 is not the
// recorded one is deleted, so an object under `assets/…` is always a verified copy.
import type { RecordedAsset } from '../policy/assess-release.ts'
import type { AssetHost } from '../config.ts'
import { fetchOnAssetHosts } from './fetch-allowed.ts'

/** A whole asset's download and upload; archives are tens of MB. */
export const MIRROR_TIMEOUT_MS = 10 * 60 * 1000

export type MirrorCopy = { ok: true } | { ok: false; error: string; retry: boolean }

/** The bucket when mirroring is on (the binding exists), else null. */
export function mirrorBucket(env: Env): R2Bucket | null {
  return (env as Partial<Env>).ASSETS_BUCKET ?? null
}

/** Where a release asset lives in the bucket. */
export function mirrorKey(version: string, name: string): string {
  return `assets/${version}/${name}`
}

/** Copies one asset unless a verified copy is already there. */
export async function mirrorAsset(bucket: R2Bucket, version: string, asset: RecordedAsset, assetHosts: readonly AssetHost[]): Promise<MirrorCopy> {
  const key = mirrorKey(version, asset.name)
  const existing = await bucket.head(key)
  if (existing && existing.size === asset.size && hex(existing.checksums.sha256) === asset.sha256) return { ok: true }

  const signal = AbortSignal.timeout(MIRROR_TIMEOUT_MS)
  try {
    const fetched = await fetchOnAssetHosts(asset.source_url, assetHosts, { signal, accept: 'application/octet-stream' })
    if (!fetched.ok) return { ok: false, error: `${asset.name}: ${fetched.error}`, retry: fetched.retry }
    const res = fetched.res
    if (!res.ok || !res.body) {
      await res.body?.cancel()
      return { ok: false, error: `${asset.name}: HTTP ${res.status}`, retry: true }
    }
    const declared = res.headers.get('content-length')
    if (declared !== null && Number(declared) !== asset.size) {
      await res.body.cancel()
      return { ok: false, error: `${asset.name}: size mismatch (the server announced ${declared} bytes, expected ${asset.size})`, retry: true }
    }

    // One branch is hashed, the other stored. R2 needs a body of known length: the fixed-length
    // stream also fails the upload when the download is longer or shorter than recorded.
    const [toHash, toStore] = res.body.tee()
    const digest = new crypto.DigestStream('SHA-256')
    const fixed = new FixedLengthStream(asset.size)
    const [hashed, piped, put] = await Promise.allSettled([
      toHash.pipeTo(digest),
      toStore.pipeTo(fixed.writable),
      // R2 verifies the sha256 too and refuses the object when it differs.
      bucket.put(key, fixed.readable, { sha256: asset.sha256, httpMetadata: { contentType: 'application/octet-stream' } }),
    ])
    if (hashed.status === 'rejected') {
      await bucket.delete(key)
      return { ok: false, error: `${asset.name}: download failed: ${errorText(hashed.reason)}`, retry: true }
    }
    const got = hex(await digest.digest)
    const bytes = Number(digest.bytesWritten)
    if (bytes !== asset.size || got !== asset.sha256) {
      await bucket.delete(key)
      const what = bytes !== asset.size ? `size mismatch (got ${bytes} bytes, expected ${asset.size})` : `sha256 mismatch (got ${got}, expected ${asset.sha256})`
      return { ok: false, error: `${asset.name}: ${what}`, retry: true }
    }
    if (put.status === 'rejected' || piped.status === 'rejected') {
      await bucket.delete(key)
      const reason = put.status === 'rejected' ? put.reason : (piped as PromiseRejectedResult).reason
      return { ok: false, error: `${asset.name}: upload to R2 failed: ${errorText(reason)}`, retry: true }
    }
    return { ok: true }
  } catch (err) {
    await bucket.delete(key).catch(() => undefined)
    return { ok: false, error: `${asset.name}: ${signal.aborted ? `not copied within ${MIRROR_TIMEOUT_MS / 60_000} min` : `network error: ${errorText(err)}`}`, retry: true }
  }
}

function hex(buf: ArrayBuffer | undefined): string {
  return buf ? Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('') : ''
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
