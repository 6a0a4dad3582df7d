// The asset mirror: copies a release's files (archives, block maps, chunk packs) into the
// optional R2 bucket ASSETS_BUCKET, so that hosts download from the broker's own origin. Runs in the Durable Object's alarm, never
// on a request path. Each copy streams from the recorded download URL (every redirect hop on
// ASSET_HOSTS) into R2 while hashing the same bytes; an object whose size or sha256 is not the
// recorded one is deleted, so an object under `assets/…` is always a verified copy. Keys carry
// the sha256: an archive replaced under the same name is a new object, and the copy that
// manifests still advertise is never overwritten or deleted by the copy of its replacement.
import type { RecordedFile } from '../policy/assess-release.ts'
import type { AssetHost } from '../config.ts'
import { fetchOnAssetHosts } from './fetch-allowed.ts'

/** A whole file's download and upload; archives and chunk packs are tens of MB. */
export const MIRROR_TIMEOUT_MS = 10 * 60 * 1000

export type MirrorCopy = { ok: true } | { ok: false; error: string; retry: boolean }

/** The bucket when mirroring is on (the binding exists), else null. */
export function mirrorBucket(env: Env): R2Bucket | null {
  return (env as Partial<Env>).ASSETS_BUCKET ?? null
}

/** Where the verified copy of a release asset with this content lives in the bucket. */
export function mirrorKey(version: string, sha256: string, name: string): string {
  return `assets/${version}/${sha256}/${name}`
}

/** Where copies were kept before keys carried the sha256; still served when their sha256 matches. */
export function legacyMirrorKey(version: string, name: string): string {
  return `assets/${version}/${name}`
}

/** The mirrored object holding exactly this content (its key and metadata), or null. */
export async function mirroredObject(bucket: R2Bucket, version: string, asset: { name: string; sha256: string }): Promise<R2Object | null> {
  const current = await bucket.head(mirrorKey(version, asset.sha256, asset.name))
  if (current) return current
  const legacy = await bucket.head(legacyMirrorKey(version, asset.name))
  return legacy && hex(legacy.checksums.sha256) === asset.sha256 ? legacy : null
}

/** Every key that may hold a copy of this asset (to delete once no manifest advertises it). */
export function mirrorKeysOf(version: string, asset: { name: string; sha256: string }): string[] {
  return [mirrorKey(version, asset.sha256, asset.name), legacyMirrorKey(version, asset.name)]
}

/** Copies one file unless a verified copy is already there. */
export async function mirrorAsset(bucket: R2Bucket, version: string, asset: RecordedFile, assetHosts: readonly AssetHost[]): Promise<MirrorCopy> {
  const key = mirrorKey(version, asset.sha256, asset.name)
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

    // Each chunk goes to the hash and to R2. R2 needs a body of known length: the fixed-length
    // stream also fails the upload when the download is shorter than recorded.
    const digest = new crypto.DigestStream('SHA-256')
    const hashing = digest.getWriter()
    const fixed = new FixedLengthStream(asset.size)
    const storing = fixed.writable.getWriter()
    // R2 checks the sha256 too and refuses the object when it differs.
    const put = bucket.put(key, fixed.readable, { sha256: asset.sha256, httpMetadata: { contentType: 'application/octet-stream' } })
    // Settled as soon as the upload fails, so that a write waiting on it does not hang.
    const upload = put.then(
      () => null,
      (err: unknown) => errorText(err),
    )
    const reader = res.body.getReader()
    let bytes = 0
    let failed: string | null = null
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        bytes += value.byteLength
        if (bytes > asset.size) {
          failed = `size mismatch (got more than the ${asset.size} bytes expected)`
          await reader.cancel()
          break
        }
        await hashing.write(value)
        const stored = await Promise.race([storing.write(value).then(() => null, (err: unknown) => errorText(err)), upload])
        if (stored !== null) {
          failed = `upload to R2 failed: ${stored}`
          await reader.cancel()
          break
        }
      }
    } catch (err) {
      failed = signal.aborted ? `not copied within ${MIRROR_TIMEOUT_MS / 60_000} min` : `download failed: ${errorText(err)}`
    }
    await hashing.close()
    const got = hex(await digest.digest)
    if (failed === null && bytes !== asset.size) failed = `size mismatch (got ${bytes} bytes, expected ${asset.size})`
    if (failed === null && got !== asset.sha256) failed = `sha256 mismatch (got ${got}, expected ${asset.sha256})`
    if (failed === null) {
      await storing.close().catch(() => undefined)
      const uploadError = await upload
      if (uploadError !== null) failed = `upload to R2 failed: ${uploadError}`
    } else {
      await storing.abort(new Error(failed)).catch(() => undefined)
      await upload
    }
    if (failed !== null) {
      await bucket.delete(key)
      return { ok: false, error: `${asset.name}: ${failed}`, retry: true }
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
