// The per-channel trust state in the state dir: the last accepted seq, the hash of its bytes,
// its ETag (`trust/<channel>.json`) and the verified bytes themselves (`trust/<channel>.jws`,
// replayed through full verification on a 304).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as z from 'zod'
import { isChannel } from '../../../contract/manifest.ts'
import { errnoCode } from '../errors.ts'
import { requireTrustedFile } from '../system/file-trust.ts'
import { writeFileAtomic } from '../system/fs-atomic.ts'
import { readStateFile } from '../system/state-file.ts'
import { sha256Hex } from './verify-manifest.ts'

const TrustStateSchema = z.object({
  seq: z.int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  etag: z.string().nullable(),
  /** The broker it came from: seq numbers only mean something per broker. */
  server: z.string(),
  accepted_at: z.string(),
})
export type TrustState = z.infer<typeof TrustStateSchema>

export interface StoredTrust {
  state: TrustState | null
  /** The accepted bytes, only when they still hash to `state.sha256`. */
  bytes: Buffer | null
}

function files(trustDir: string, channel: string) {
  // Channel names become file names: accept only the known ones.
  if (!isChannel(channel)) throw new Error(`not a channel: ${channel}`)
  return { state: join(trustDir, `${channel}.json`), bytes: join(trustDir, `${channel}.jws`) }
}

function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
}

/**
 * The stored state for `channel` on `server`. A state recorded for another broker URL does
 * not apply (a different broker numbers its manifests independently); changing the server
 * is a deliberate act in the user's own config. A corrupt state file is treated as absent.
 */
export function readTrust(trustDir: string, channel: string, server: string): StoredTrust {
  const f = files(trustDir, channel)
  // The accepted seq is the rollback protection: whoever could change (or delete) it could
  // make an older signed manifest acceptable again. The rule of system/file-trust.ts, exit 2.
  requireTrustedFile(f.state, 'trust state', 'it holds the last accepted manifest (rollback protection)')
  const read = readStateFile(f.state, TrustStateSchema)
  if (read.kind === 'unreadable') throw read.error
  if (read.kind !== 'ok' || read.value.server !== server) return { state: null, bytes: null }
  const state = read.value
  const bytes = readOrNull(f.bytes)
  return { state, bytes: bytes && sha256Hex(bytes) === state.sha256 ? bytes : null }
}

/** Persists an accepted manifest: bytes first, then the state that points at them. */
export function writeTrust(trustDir: string, channel: string, state: TrustState, bytes: Uint8Array): void {
  const f = files(trustDir, channel)
  writeFileAtomic(f.bytes, bytes, { mode: 0o644 })
  writeFileAtomic(f.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 })
}
