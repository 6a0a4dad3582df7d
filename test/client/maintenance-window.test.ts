// Maintenance windows (config/window.ts), pure: the grammar of updates.window (valid and invalid
// forms), midnight crossing, several windows, the week wrap, the next opening, and where in a
// window hosts install (their rollout bucket spread across it, never outside it).
import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  currentOccurrence,
  formatClock,
  formatDayTime,
  installPointIn,
  installSlot,
  isInside,
  nextOpening,
  parseWindow,
  parseWindows,
  type Window,
} from '../../client/src/config/window.ts'
import { rolloutBucket } from '../../client/src/update/rollout.ts'

const MIN = 60_000
const HOUR = 60 * MIN
// Tuesday 2026-12-01 00:00 UTC.
const TUE = Date.parse('2026-12-01T00:00:00Z')
const at = (iso: string) => Date.parse(iso)

function windows(...texts: string[]): Window[] {
  const r = parseWindows(texts)
  if (!r.ok) throw new Error(r.problem)
  return r.windows
}

function problem(text: string): string {
  const r = parseWindows([text])
  if (r.ok) throw new Error(`accepted ${text}`)
  return r.problem
}

describe('the updates.window grammar', () => {
  it('reads a day, a range, a list and daily, with or without UTC, in any case', () => {
    expect(parseWindow('Tue 02:00-03:00 UTC')).toEqual({ text: 'Tue 02:00-03:00 UTC', days: [2], start: 120, length: 60, offset: 0 })
    expect(parseWindow('Mon-Fri 22:00-23:30 UTC')).toMatchObject({ text: 'Mon-Fri 22:00-23:30 UTC', days: [1, 2, 3, 4, 5], start: 1320, length: 90 })
    expect(parseWindow('Sat,Sun 01:00-05:00')).toMatchObject({ text: 'Sat,Sun 01:00-05:00 UTC', days: [0, 6], length: 240 })
    expect(parseWindow('daily 03:00-04:00')).toMatchObject({ text: 'daily 03:00-04:00 UTC', days: [0, 1, 2, 3, 4, 5, 6] })
    expect(parseWindow('  tue   2:00 - 3:00   utc ')).toMatchObject({ text: 'Tue 02:00-03:00 UTC', start: 120, length: 60 })
    expect(parseWindow('Mon-Wed,Fri 00:00-24:00')).toMatchObject({ text: 'Mon-Wed,Fri 00:00-24:00 UTC', days: [1, 2, 3, 5], length: 1440 })
  })

  it('lets a range wrap over the end of the week', () => {
    expect(parseWindow('Fri-Mon 01:00-02:00')).toMatchObject({ days: [0, 1, 5, 6] })
    expect(parseWindow('Sun-Sun 01:00-02:00')).toMatchObject({ days: [0] })
  })

  it('lets a window cross midnight: it belongs to the day it starts', () => {
    expect(parseWindow('Fri 23:00-01:00')).toMatchObject({ days: [5], start: 1380, length: 120 })
  })

  it('reads fixed offsets and shows them after UTC', () => {
    expect(parseWindow('Tue 02:00-03:00 +02:00')).toMatchObject({ text: 'Tue 02:00-03:00 UTC+02:00', offset: 120 })
    expect(parseWindow('Tue 02:00-03:00 UTC-05:30')).toMatchObject({ text: 'Tue 02:00-03:00 UTC-05:30', offset: -330 })
    expect(parseWindow('Tue 02:00-03:00 Z')).toMatchObject({ text: 'Tue 02:00-03:00 UTC', offset: 0 })
  })

  it('reads several windows from a list and from ";" in one string; "" is none', () => {
    expect(windows('Tue 02:00-03:00', 'Sat,Sun 01:00-05:00').map((w) => w.text)).toEqual(['Tue 02:00-03:00 UTC', 'Sat,Sun 01:00-05:00 UTC'])
    expect(windows('Tue 02:00-03:00; Thu 02:00-03:00').map((w) => w.text)).toEqual(['Tue 02:00-03:00 UTC', 'Thu 02:00-03:00 UTC'])
    expect(windows('')).toEqual([])
    expect(windows()).toEqual([])
  })

  it('names what is wrong in a window it refuses', () => {
    expect(problem('Tue 25:00-03:00')).toBe('window "Tue 25:00-03:00": "25:00" is not a time (HH:MM from 00:00 to 23:59)')
    expect(problem('Tue 02:00-03:60')).toContain('"03:60" is not a time (HH:MM from 00:00 to 23:59, or 24:00)')
    expect(problem('Tue 24:00-03:00')).toContain('"24:00" is not a time')
    expect(problem('Tuesday 02:00-03:00')).toContain('"Tuesday" is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun, or daily)')
    expect(problem('Mon-Fri-Sat 02:00-03:00')).toContain('"Mon-Fri-Sat" is not a day or a range of days')
    expect(problem('Mon, 02:00-03:00')).toContain('is not a day or a range of days')
    expect(problem('Tue 02:00-02:00')).toContain('it starts and ends at 02:00')
    expect(problem('Tue 02:00-03:00 Europe/Berlin')).toContain('"Europe/Berlin" is not a zone: use UTC or a fixed offset like +02:00 (time zone names are not supported')
    expect(problem('Tue 02:00-03:00 +15:00')).toContain('is not an offset from -14:00 to +14:00')
    expect(problem('Tue 02:00')).toContain('"Tue 02:00" is not a window: expected days, a time range and an optional zone')
    expect(problem('02:00-03:00')).toContain('is not a window')
    expect(problem('Tue 02:00-03:00;')).toContain('an empty window between ";"')
    expect(problem('Tue 02:00-03:00 UTC extra')).toContain('is not a window')
  })
})

describe('when a window is open', () => {
  const tue = windows('Tue 02:00-03:00 UTC')

  it('is open from its start up to, not including, its end', () => {
    expect(isInside(tue, at('2026-12-01T01:59:59Z'))).toBe(false)
    expect(isInside(tue, at('2026-12-01T02:00:00Z'))).toBe(true)
    expect(isInside(tue, at('2026-12-01T02:59:59Z'))).toBe(true)
    expect(isInside(tue, at('2026-12-01T03:00:00Z'))).toBe(false)
    expect(isInside(tue, at('2026-12-08T02:30:00Z'))).toBe(true)
    expect(isInside(tue, at('2026-12-02T02:30:00Z'))).toBe(false)
  })

  it('keeps a window that crosses midnight open into the next day, on the days it starts', () => {
    const fri = windows('Fri 23:00-01:00')
    expect(isInside(fri, at('2026-12-04T23:30:00Z'))).toBe(true) // Friday
    expect(isInside(fri, at('2026-12-05T00:30:00Z'))).toBe(true) // Saturday, still Friday's window
    expect(isInside(fri, at('2026-12-05T01:00:00Z'))).toBe(false)
    expect(isInside(fri, at('2026-12-05T23:30:00Z'))).toBe(false) // Saturday's own 23:00 is not a window
    expect(isInside(fri, at('2026-12-04T00:30:00Z'))).toBe(false) // Thursday's would-be window
  })

  it('wraps the week: Sunday night into Monday', () => {
    const sun = windows('Sun 22:00-02:00')
    expect(isInside(sun, at('2026-12-07T01:00:00Z'))).toBe(true) // Monday 01:00
    expect(nextOpening(sun, at('2026-12-07T03:00:00Z'))?.start).toBe(at('2026-12-13T22:00:00Z'))
  })

  it('is open when any of several windows is, and reads a fixed offset in its own zone', () => {
    const two = windows('Tue 02:00-03:00', 'Sat,Sun 01:00-05:00')
    expect(isInside(two, at('2026-12-05T04:00:00Z'))).toBe(true)
    expect(isInside(two, at('2026-12-01T02:10:00Z'))).toBe(true)
    expect(isInside(two, at('2026-12-02T02:10:00Z'))).toBe(false)
    // Tue 02:00-03:00 at +02:00 is Tue 00:00-01:00 UTC; Mon 23:00 UTC is already Tuesday there.
    const plus2 = windows('Tue 02:00-03:00 +02:00')
    expect(isInside(plus2, at('2026-12-01T00:30:00Z'))).toBe(true)
    expect(isInside(plus2, at('2026-12-01T02:30:00Z'))).toBe(false)
    expect(currentOccurrence(windows('Tue 01:00-02:00 +02:00'), at('2026-11-30T23:30:00Z'))?.start).toBe(at('2026-11-30T23:00:00Z'))
  })
})

describe('the next opening', () => {
  it('is the next start after now, a week ahead from just after it', () => {
    const tue = windows('Tue 02:00-03:00 UTC')
    expect(nextOpening(tue, TUE)?.start).toBe(at('2026-12-01T02:00:00Z'))
    expect(nextOpening(tue, at('2026-12-01T02:00:00Z'))?.start).toBe(at('2026-12-08T02:00:00Z'))
    expect(nextOpening(tue, at('2026-12-01T02:30:00Z'))?.end).toBe(at('2026-12-08T03:00:00Z'))
    expect(formatDayTime(nextOpening(tue, at('2026-12-01T04:00:00Z'))!.start)).toBe('Tue 2026-12-08 02:00 UTC')
  })

  it('is the earliest of several windows, across the week wrap', () => {
    const w = windows('Mon-Fri 22:00-23:30', 'Sat,Sun 01:00-05:00')
    expect(nextOpening(w, at('2026-12-04T23:00:00Z'))?.start).toBe(at('2026-12-05T01:00:00Z')) // Fri → Sat
    expect(nextOpening(w, at('2026-12-06T06:00:00Z'))?.start).toBe(at('2026-12-07T22:00:00Z')) // Sun → Mon
  })

  it('is null without windows', () => {
    expect(nextOpening([], TUE)).toBeNull()
    expect(installSlot([], TUE, 50)).toBeNull()
  })
})

describe('where in a window a host installs', () => {
  const occ = nextOpening(windows('Tue 02:00-03:00 UTC'), TUE)!

  it('spreads the buckets over the window, keeping its last quarter (at most 15 min) for the install', () => {
    expect(installPointIn(occ, 0)).toBe(occ.start)
    expect(installPointIn(occ, 50)).toBe(at('2026-12-01T02:22:30Z'))
    expect(installPointIn(occ, 99)).toBe(at('2026-12-01T02:44:33Z'))
    const long = nextOpening(windows('Sat 00:00-08:00'), TUE)!
    expect(installPointIn(long, 99) - long.start).toBe(Math.floor((0.99 * (8 * HOUR - 15 * MIN)) / 1000) * 1000)
  })

  it('puts 1000 hosts inside the window, before its reserved end, spread over it', () => {
    const points = Array.from({ length: 1000 }, () => installPointIn(occ, rolloutBucket(randomUUID(), '2026.12.1')))
    for (const p of points) {
      expect(p).toBeGreaterThanOrEqual(occ.start)
      expect(p).toBeLessThan(occ.end - 15 * MIN)
      expect(p % 1000).toBe(0)
    }
    // Every quarter of the usable 45 minutes gets a share (random ids: far from the edges of chance).
    const quarters = [0, 0, 0, 0]
    for (const p of points) quarters[Math.floor((p - occ.start) / (45 * MIN / 4))]! += 1
    for (const q of quarters) expect(q).toBeGreaterThan(150)
    expect(new Set(points).size).toBeGreaterThan(80)
  })

  it('installs now inside a window past the host\'s point, else at the next point ahead', () => {
    const tue = windows('Tue 02:00-03:00 UTC')
    expect(installSlot(tue, at('2026-12-01T02:30:00Z'), 10)?.at).toBe(at('2026-12-01T02:30:00Z'))
    expect(installSlot(tue, at('2026-12-01T02:10:00Z'), 50)?.at).toBe(at('2026-12-01T02:22:30Z'))
    expect(installSlot(tue, at('2026-12-01T01:00:00Z'), 50)?.at).toBe(at('2026-12-01T02:22:30Z'))
    // In the reserved end the window is still open: a host past its point installs.
    expect(installSlot(tue, at('2026-12-01T02:59:00Z'), 99)?.at).toBe(at('2026-12-01T02:59:00Z'))
    expect(installSlot(tue, at('2026-12-01T03:00:00Z'), 50)?.at).toBe(at('2026-12-08T02:22:30Z'))
    expect(formatClock(at('2026-12-01T02:17:00Z'))).toBe('02:17 UTC')
    expect(formatClock(at('2026-12-01T02:22:30Z'))).toBe('02:22:30 UTC')
  })
})
