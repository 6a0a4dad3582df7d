// A scheduled ramp of a channel's rollout, decided from plain data: what the ramp does when its
// time comes (advance to the next percentage, wait and say why, finish, or give up because the
// channel left its version). The Durable Object's alarm applies the decision through its one
// write path, each step a signed, audited change.
import type { ChannelPointer } from './channels.ts'

/** A ramp as stored with its channel (broker/SCHEMA.md, `channels.ramp`). */
export interface Ramp {
  /** The version the ramp rolls out; a ramp ends when the channel leaves it. */
  version: string
  /** Increasing percentages; the rollout is at `steps[step]`. */
  steps: number[]
  everyS: number
  step: number
  /** Epoch ms when the next step is due. */
  nextAt: number
  /** Why the last due step did not happen (halted, failures near the guard); null when it is not waiting. */
  waiting: string | null
}

/** While a step waits (halted, failures near the guard), the alarm looks again this often. */
export const RAMP_RECHECK_MS = 5 * 60 * 1000

export type RampDecision =
  | { kind: 'not-due' }
  | { kind: 'cancel'; why: string }
  | { kind: 'wait'; why: string; retryAt: number }
  | { kind: 'advance'; percent: number; ramp: Ramp | null }

/** A ramp that starts now at its first step. */
export function startRamp(version: string, steps: number[], everyS: number, now: number): Ramp {
  return { version, steps, everyS, step: 0, nextAt: now + everyS * 1000, waiting: null }
}

/**
 * What the ramp does at `now`. `sameVersion`: the channel still points at the ramp's version;
 * `guardNear`: the failures reported for it are at half of a guard threshold or more.
 */
export function decideRamp(ramp: Ramp, pointer: ChannelPointer, sameVersion: boolean, guardNear: boolean, now: number): RampDecision {
  if (pointer.version === null || !sameVersion) return { kind: 'cancel', why: `the channel left ${ramp.version}` }
  if (now < ramp.nextAt) return { kind: 'not-due' }
  const retryAt = now + Math.min(RAMP_RECHECK_MS, ramp.everyS * 1000)
  if (pointer.halted) return { kind: 'wait', why: 'the rollout is halted', retryAt }
  if (guardNear) return { kind: 'wait', why: 'failures are at half of the failure guard or more', retryAt }
  const step = ramp.step + 1
  const percent = ramp.steps[step]
  if (percent === undefined) return { kind: 'cancel', why: 'the ramp has no step left' }
  const last = step === ramp.steps.length - 1
  return { kind: 'advance', percent, ramp: last ? null : { ...ramp, step, nextAt: now + ramp.everyS * 1000, waiting: null } }
}
