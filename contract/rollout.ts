// The rollout rule (contract/README.md, "The manifest"): which hosts a rollout of `percent`
// reaches. Each side hashes with its own SHA-256 (node:crypto, WebCrypto); this file holds the
// text that is hashed and the arithmetic on the digest, which both must agree on.

/** The text whose SHA-256 places a host in a version's rollout: `host_id:version`, UTF-8. */
export function rolloutHashInput(hostId: string, version: string): string {
  return `${hostId}:${version}`
}

/** The first 4 bytes of a digest as a big-endian unsigned integer. */
export function digestPrefix32(digest: Uint8Array): number {
  if (digest.length < 4) throw new RangeError('a digest has at least 4 bytes')
  return digest[0]! * 0x1000000 + ((digest[1]! << 16) | (digest[2]! << 8) | digest[3]!)
}

/** The host's bucket (0–99) for a version, from sha256(rolloutHashInput(host_id, version)). */
export function rolloutBucket(digest: Uint8Array): number {
  return digestPrefix32(digest) % 100
}

/** A host is in a rollout of `percent` when its bucket is below it (0: nobody, 100: everybody). */
export function bucketInRollout(bucket: number, percent: number): boolean {
  return bucket < percent
}
