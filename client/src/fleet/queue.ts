// The fleet report queue, `fleet-queue.json` in the state dir (client/README.md, "Fleet
// reports"): the last MAX_QUEUED_EVENTS events not yet accepted by the broker, each with the
// host's state after it, and when the next send may be tried. Written whole and atomically
// (system/fs-atomic.ts, mode 0600), read without following links (system/state-file.ts), and
// changed only under its own short lock, so that `cco update` and the daemon can both append.
// An event's id is given here, once: every retry sends the same id, and the broker stores it once.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import * as z from 'zod'
import { FleetEventSchema, type FleetEvent, type FleetReportSchemaVersion } from '../../../contract/fleet.ts'
import { CHANNELS } from '../../../contract/manifest.ts'
import { PLATFORMS, type Platform } from '../../../contract/platform.ts'
import { messageOf } from '../errors.ts'
import { writeFileAtomic } from '../system/fs-atomic.ts'
import { readStateFile } from '../system/state-file.ts'
import { acquireLock } from '../update/lock.ts'
import type { EventFacts } from './events.ts'

/** The queue keeps the newest this many events; older ones are dropped when more arrive. */
export const MAX_QUEUED_EVENTS = 200
/** 200 events with their host state are about 70 KB; anything beyond this is not our file. */
const MAX_QUEUE_BYTES = 512 * 1024
const LOCK_WAIT_MS = 3_000

export function queueFile(stateDir: string): string {
  return join(stateDir, 'fleet-queue.json')
}

/** The host's state after an event: the report fields that describe it now. */
export interface HostSnapshot {
  version: string
  channel: (typeof CHANNELS)[number]
  platform: Platform | null
  check_interval_s: number
}

export interface QueuedEvent {
  event: FleetEvent
  host: HostSnapshot
}

/** When sending may be tried again (RFC 3339, null: now). */
export interface SendState {
  /** Consecutive failed sends. */
  failures: number
  /** The daemon retries from then on (backoff after a failure); a new event is sent at once anyway. */
  retry_at: string | null
  /** No send before then: the broker said so (429 Retry-After). */
  hold_until: string | null
}

/**
 * The broker refused the newest report schema (`422 schema: …`, an older broker): reports are
 * sent as `schema` until `until` (RFC 3339), then the newest is tried again, so a broker that
 * was upgraded meanwhile gets the newer bodies. Kept in the file, so that every `cco update` and
 * the daemon do not each pay a refused request first.
 */
export interface SchemaFallback {
  schema: FleetReportSchemaVersion
  until: string
}

export interface QueueState {
  events: QueuedEvent[]
  send: SendState
  /** Absent: send the newest schema. */
  fallback?: SchemaFallback
}

export const EMPTY_SEND_STATE: SendState = { failures: 0, retry_at: null, hold_until: null }

const HostSchema = z.object({
  version: z.string(),
  channel: z.enum(CHANNELS),
  platform: z.enum(PLATFORMS).nullable(),
  check_interval_s: z.int(),
})

const QueueFileSchema = z.object({
  format: z.literal(1),
  send: z
    .object({ failures: z.int().min(0), retry_at: z.string().nullable(), hold_until: z.string().nullable() })
    .default(EMPTY_SEND_STATE),
  // Checked one by one below: one entry that a newer or older cco wrote differently is dropped, not the queue.
  events: z.array(z.unknown()),
  // Older cco versions drop it (they send schema 1 anyway); one they cannot read is forgotten.
  schema_fallback: z.object({ schema: z.literal(1), until: z.iso.datetime({ offset: true }) }).optional().catch(undefined),
})

function entryOf(value: unknown): QueuedEvent | null {
  if (value === null || typeof value !== 'object') return null
  const v = value as { event?: unknown; host?: unknown }
  const event = FleetEventSchema.safeParse(v.event)
  const host = HostSchema.safeParse(v.host)
  return event.success && host.success ? { event: event.data, host: host.data } : null
}

export type QueueRead = { kind: 'ok'; state: QueueState } | { kind: 'refused'; reason: string; error?: unknown }

/**
 * The queue as it is on disk. A missing file is an empty queue, and so is one that is not JSON
 * or not ours (it is replaced on the next write); a link, fifo or unreadable file is refused and
 * left alone.
 */
export function readQueue(file: string): QueueRead {
  const read = readStateFile(file, QueueFileSchema, { noFollow: true, maxBytes: MAX_QUEUE_BYTES })
  if (read.kind === 'unreadable') return { kind: 'refused', reason: read.reason, error: read.error }
  if (read.kind !== 'ok') return { kind: 'ok', state: { events: [], send: { ...EMPTY_SEND_STATE } } }
  const events = read.value.events.map(entryOf).filter((e): e is QueuedEvent => e !== null)
  const fallback = read.value.schema_fallback
  return { kind: 'ok', state: { events: events.slice(-MAX_QUEUED_EVENTS), send: read.value.send, ...(fallback ? { fallback } : {}) } }
}

function writeQueue(file: string, state: QueueState): void {
  const events = state.events.slice(-MAX_QUEUED_EVENTS)
  const fallback = state.fallback ? { schema_fallback: state.fallback } : {}
  writeFileAtomic(file, `${JSON.stringify({ format: 1, send: state.send, ...fallback, events })}\n`, { mode: 0o600 })
}

/** A refusal to read or change the queue, never thrown past the reporter. */
export class QueueError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'QueueError'
  }
}

/** Reads, changes and writes the queue under its lock; returns what was written. */
export async function changeQueue(stateDir: string, change: (state: QueueState) => QueueState): Promise<QueueState> {
  const file = queueFile(stateDir)
  const lock = await acquireLock(`${file}.lock`, { waitMs: LOCK_WAIT_MS, pollMs: 25, what: 'change of the fleet report queue' })
  try {
    const read = readQueue(file)
    if (read.kind === 'refused') throw new QueueError(`cannot use the fleet report queue ${file}: ${read.reason}`, { cause: read.error })
    const next = change(read.state)
    writeQueue(file, next)
    return { ...next, events: next.events.slice(-MAX_QUEUED_EVENTS) }
  } catch (err) {
    if (err instanceof QueueError) throw err
    throw new QueueError(`cannot write the fleet report queue ${file}: ${messageOf(err)}`, { cause: err })
  } finally {
    lock.release()
  }
}

/** A new event with its id (random, kept across retries) and time. */
export function newEvent(facts: EventFacts, at: Date): FleetEvent {
  return { id: randomUUID(), at: at.toISOString(), ...facts }
}

/** Appends events; the oldest are dropped beyond MAX_QUEUED_EVENTS. */
export function appendEvents(stateDir: string, entries: readonly QueuedEvent[]): Promise<QueueState> {
  return changeQueue(stateDir, (s) => ({ ...s, events: [...s.events, ...entries] }))
}

/**
 * Removes the events the broker has (accepted or duplicates, or refused for good) and records the
 * send state; `fallback`: the schema to send from now on (null: the newest; undefined: as it was).
 */
export function settleEvents(stateDir: string, ids: ReadonlySet<string>, send: SendState, fallback?: SchemaFallback | null): Promise<QueueState> {
  return changeQueue(stateDir, (s) => {
    const { fallback: kept, ...rest } = s
    const next = fallback === undefined ? kept : (fallback ?? undefined)
    return { ...rest, events: s.events.filter((e) => !ids.has(e.event.id)), send, ...(next ? { fallback: next } : {}) }
  })
}
