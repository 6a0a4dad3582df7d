// The rollout bucket of a host for a version (contract/README.md): stable per host and version, so a
// rollout that grows from 10 % to 50 % keeps the first 10 % in.
import { createHash } from 'node:crypto'

/** sha256(host_id + ":" + version), first 4 bytes big-endian unsigned, mod 100. */
export function rolloutBucket(hostId: string, version: string): number {
  const digest = createHash('sha256').update(`${hostId}:${version}`, 'utf8').digest()
  return digest.readUInt32BE(0) % 100
}

export function inRollout(hostId: string, version: string, percent: number): boolean {
  return rolloutBucket(hostId, version) < percent
}
