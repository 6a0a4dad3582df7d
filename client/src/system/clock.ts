// The one source of "now", so tests can fake time without touching the system clock.
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** `2025-11-17 14:32:15 UTC`: how cco shows timestamps to people. */
export function formatUtc(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC')
}

/** RFC 3339 in UTC without fractions (`2025-11-17T14:32:15Z`): how cco stores timestamps. */
export function toRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}
