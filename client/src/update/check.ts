// One update check: fetch the channel's manifest (conditionally), verify it, persist the new
// trust state only after it passed, decide, record `last_check`. The daemon calls this too.
// Each manifest's bytes are verified once per run: bytes that this process verified before
// (the check before a question, the trust state moving meanwhile) are only checked again
// against the trust state and the clock (verify-manifest.ts, checkFreshness).
import { join } from 'node:path'
import type { ManifestPayload } from '../../../contract/manifest.ts'
import { RefusedError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { crashPoint } from '../system/crash-points.ts'
import type { UpdateContext } from './context.ts'
import { decideUpdate, type Decision } from './decide.ts'
import { fetchManifest } from './fetch-manifest.ts'
import { traceStep } from './trace.ts'
import { acquireLock } from './lock.ts'
import { recordCheck } from './records.ts'
import { readTrust, writeTrust } from './trust-store.ts'
import { checkFreshness, sha256Hex, verifyManifest, type VerifiedManifest } from './verify-manifest.ts'

export interface CheckResult {
  channel: string
  server: string
  seq: number
  /** The version the decision compared against. */
  current: string
  latest: string | null
  manifest: ManifestPayload
  /** What verification found: pass it to a later check of the same run (CheckOptions.verified). */
  verified: VerifiedManifest
  decision: Decision
  /** The broker answered 304 and the stored manifest was re-verified. */
  notModified: boolean
}

export interface CheckOptions {
  /** Compare against this version instead of the running one (another updater just finished). */
  current?: string
  /**
   * A manifest this process verified earlier with the same context. When the broker answers
   * with the same bytes (a 304, or the identical body), they are not verified again, only
   * checked for seq and expiry; any other bytes are verified in full.
   */
  verified?: VerifiedManifest
}

export async function checkForUpdate(ctx: UpdateContext, options: CheckOptions = {}): Promise<CheckResult> {
  const stored = readTrust(ctx.paths.trustDir, ctx.channel, ctx.server)
  // Only ask for a 304 when the bytes to fall back on are intact.
  const etag = stored.bytes && stored.state?.etag ? stored.state.etag : null
  traceStep(ctx.env, 'start, config, lock')
  let fetched = await fetchManifest(ctx.http, ctx.server, ctx.channel, etag)
  const verify = async () => {
    const input = {
      bytes: fetched.notModified ? stored.bytes! : fetched.bytes,
      channel: ctx.channel,
      keys: ctx.trustKeys,
      trusted: stored.state,
      now: ctx.clock.now(),
    }
    const earlier = options.verified
    return earlier && sha256Hex(input.bytes) === earlier.sha256 ? checkFreshness(earlier, input) : verifyManifest(input)
  }

  // A 304 replays the stored bytes through every rule again (expiry above all).
  let verified: VerifiedManifest
  try {
    verified = await verify()
  } catch (err) {
    // An older manifest than one already accepted is what an edge cache or KV copy from
    // before a change looks like (another colo, within the cache's max-age). It is never
    // accepted; the broker is asked once more past its caches, and that answer must pass
    // every rule on its own. A replayed old manifest fails again.
    if (!(err instanceof RefusedError && err.rule === 'seq') || fetched.notModified) throw err
    fetched = await fetchManifest(ctx.http, ctx.server, ctx.channel, null, { fresh: true })
    verified = await verify()
  }
  const bytes = fetched.notModified ? stored.bytes! : fetched.bytes

  if (!fetched.notModified) {
    // Serialise the read-compare-write with other cco processes so that the stored seq can
    // only grow, even when two checks race.
    const lock = await acquireLock(join(ctx.paths.trustDir, `${ctx.channel}.lock`), { waitMs: 5_000, pollMs: 25, what: 'manifest check' })
    try {
      const latest = readTrust(ctx.paths.trustDir, ctx.channel, ctx.server).state
      const trusted = latest && latest.seq > (stored.state?.seq ?? 0) ? latest : stored.state
      // Another check accepted a newer manifest meanwhile: these bytes must not go behind it.
      if (trusted !== stored.state) checkFreshness(verified, { trusted, now: ctx.clock.now() })
      writeTrust(
        ctx.paths.trustDir,
        ctx.channel,
        {
          seq: verified.payload.seq,
          sha256: verified.sha256,
          etag: fetched.etag,
          server: ctx.server,
          accepted_at: toRfc3339(ctx.clock.now()),
        },
        bytes,
      )
    } finally {
      lock.release()
    }
  }
  crashPoint(ctx.env, 'manifest-verified')
  traceStep(ctx.env, 'manifest fetch and verify')

  const current = options.current ?? ctx.version
  const m = verified.payload
  const decision = decideUpdate(m, current, ctx.hostId, ctx.platform)
  const latest = m.release?.version ?? null
  recordCheck(ctx, `check: channel ${ctx.channel} seq ${m.seq}, current ${current}, latest ${latest ?? 'none'}: ${decision.detail}`)
  return { channel: ctx.channel, server: ctx.server, seq: m.seq, current, latest, manifest: m, verified, decision, notModified: fetched.notModified }
}
