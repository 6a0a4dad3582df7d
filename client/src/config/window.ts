// Maintenance windows (`updates.window`): the grammar, and when a window is open, opens next and
// where in it a host installs. Pure: no clock, no I/O; the time is passed in (ms since the epoch).
//
//   window   := days " " HH:MM "-" HH:MM [" " zone]          several: separated by ";" or a TOML array
//   days     := "daily" | item ("," item)*                    item := day | day "-" day (may wrap: Fri-Mon)
//   day      := Mon | Tue | Wed | Thu | Fri | Sat | Sun       (any case)
//   zone     := UTC | UTC±HH:MM | ±HH:MM                      (default UTC; fixed offsets, no time zone names)
//
// The days are the days the window *starts* on, in the window's zone: `Fri 23:00-01:00` is
// Friday 23:00 to Saturday 01:00. The end may be `24:00`; start and end may not be equal.

export interface Window {
  /** The window as cco shows it: `Tue 02:00-03:00 UTC`. */
  text: string
  /** The weekdays it starts on, 0 = Sunday … 6 = Saturday. */
  days: readonly number[]
  /** Minutes after local midnight. */
  start: number
  /** Minutes, 1 to 1439 (1440 for 00:00-24:00). */
  length: number
  /** The zone's offset east of UTC, in minutes. */
  offset: number
}

/** One opening of a window, in ms since the epoch: [start, end). */
export interface Occurrence {
  window: Window
  start: number
  end: number
}

export type WindowsResult = { ok: true; windows: Window[] } | { ok: false; problem: string }

export const WINDOW_GRAMMAR =
  'one or more windows like "Tue 02:00-03:00 UTC", "Mon-Fri 22:00-23:30", "Sat,Sun 01:00-05:00" or "daily 23:00-01:00" (days Mon…Sun, a range, a list or daily; HH:MM-HH:MM, crossing midnight allowed; UTC or a fixed offset like +02:00), separated by ";", or "" for none'

const MINUTE = 60_000
const DAY = 86_400_000
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const
/** Leaves the end of a window for the install itself: at most 15 min, at most a quarter of it. */
const MAX_RESERVE_MIN = 15

function dayIndex(token: string): number | null {
  const i = DAY_NAMES.findIndex((d) => d.toLowerCase() === token.toLowerCase())
  return i < 0 ? null : i
}

/** The days of `Mon-Fri`, `Sat,Sun`, `daily`, `Fri-Mon`, or why not. */
function parseDays(token: string): { days: number[]; text: string } | string {
  if (token.toLowerCase() === 'daily') return { days: [0, 1, 2, 3, 4, 5, 6], text: 'daily' }
  const days = new Set<number>()
  const shown: string[] = []
  for (const item of token.split(',')) {
    const ends = item.split('-')
    if (ends.length > 2 || ends.some((e) => e === '')) return `${JSON.stringify(item)} is not a day or a range of days (Mon, Mon-Fri)`
    const idx = ends.map(dayIndex)
    const bad = ends.find((_, i) => idx[i] === null)
    if (bad !== undefined) return `${JSON.stringify(bad)} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun, or daily)`
    const [from, to] = [idx[0]!, idx[idx.length - 1]!]
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d)
      if (d === to) break
    }
    shown.push(idx.map((d) => DAY_NAMES[d!]).join('-'))
  }
  return { days: [...days].sort((a, b) => a - b), text: shown.join(',') }
}

/** Minutes after midnight of `HH:MM` (`24:00` only as an end), or why not. */
function parseTime(token: string, end: boolean): number | string {
  const m = /^(\d{1,2}):(\d{2})$/.exec(token)
  const h = m ? Number(m[1]) : NaN
  const min = m ? Number(m[2]) : NaN
  if (m && h === 24 && min === 0 && end) return 1440
  if (!m || h > 23 || min > 59) return `${JSON.stringify(token)} is not a time (HH:MM from 00:00 to 23:59${end ? ', or 24:00' : ''})`
  return h * 60 + min
}

/** Minutes east of UTC of `UTC`, `UTC+02:00`, `+02:00`, `-05:30`, or why not. */
function parseZone(token: string | undefined): { offset: number; text: string } | string {
  if (token === undefined || /^(utc|z)$/i.test(token)) return { offset: 0, text: 'UTC' }
  const m = /^(?:utc)?([+-])(\d{2}):(\d{2})$/i.exec(token)
  if (!m) {
    return `${JSON.stringify(token)} is not a zone: use UTC or a fixed offset like +02:00 (time zone names are not supported; a fixed offset does not follow daylight saving time)`
  }
  const offset = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]))
  if (Number(m[3]) > 59 || Math.abs(offset) > 14 * 60) return `${JSON.stringify(token)} is not an offset from -14:00 to +14:00`
  return { offset, text: offset === 0 ? 'UTC' : `UTC${m[1]}${m[2]}:${m[3]}` }
}

const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`

/** One window, or why it is not one. */
export function parseWindow(input: string): Window | string {
  const text = input.trim().replace(/\s+/g, ' ')
  const m = /^(\S+) (\d[\d:]*) ?- ?(\d[\d:]*)(?: (\S+))?$/.exec(text)
  if (!m) return `${JSON.stringify(text)} is not a window: expected days, a time range and an optional zone, like "Tue 02:00-03:00 UTC"`
  const days = parseDays(m[1]!)
  const start = parseTime(m[2]!, false)
  const end = parseTime(m[3]!, true)
  const zone = parseZone(m[4])
  const problem = [days, start, end, zone].find((p): p is string => typeof p === 'string')
  if (problem !== undefined) return `window ${JSON.stringify(text)}: ${problem}`
  const [s, e] = [start as number, end as number]
  if (s === e) return `window ${JSON.stringify(text)}: it starts and ends at ${hhmm(s)} (a window is at least one minute; daily 00:00-24:00 is always open)`
  const d = days as { days: number[]; text: string }
  const z = zone as { offset: number; text: string }
  return { text: `${d.text} ${hhmm(s)}-${hhmm(e)} ${z.text}`, days: d.days, start: s, length: e > s ? e - s : e + 1440 - s, offset: z.offset }
}

/** Every window in the texts (each may hold several, separated by `;`); "" holds none. */
export function parseWindows(texts: readonly string[]): WindowsResult {
  const windows: Window[] = []
  for (const text of texts) {
    if (text.trim() === '') continue
    for (const piece of text.split(';')) {
      if (piece.trim() === '') return { ok: false, problem: `an empty window between ";" in ${JSON.stringify(text)}` }
      const w = parseWindow(piece)
      if (typeof w === 'string') return { ok: false, problem: w }
      windows.push(w)
    }
  }
  return { ok: true, windows }
}

/** The windows of a validated config value (`updates.window`): none when unset. */
export function windowsOf(value: string | readonly string[] | undefined): Window[] {
  const r = parseWindows(value === undefined ? [] : typeof value === 'string' ? [value] : value)
  if (!r.ok) throw new Error(`updates.window: ${r.problem}`)
  return r.windows
}

/** The openings that start from two days before `at` to eight days after, by start. */
function occurrencesAround(windows: readonly Window[], at: number): Occurrence[] {
  const found: Occurrence[] = []
  for (const w of windows) {
    const localDay = Math.floor((at + w.offset * MINUTE) / DAY)
    for (let d = localDay - 2; d <= localDay + 8; d++) {
      // 1970-01-01, day 0, was a Thursday (4).
      if (!w.days.includes((((d + 4) % 7) + 7) % 7)) continue
      const start = d * DAY + (w.start - w.offset) * MINUTE
      found.push({ window: w, start, end: start + w.length * MINUTE })
    }
  }
  return found.sort((a, b) => a.start - b.start || a.end - b.end)
}

/** The opening that `at` is in (the one that started first), or null. */
export function currentOccurrence(windows: readonly Window[], at: number): Occurrence | null {
  return occurrencesAround(windows, at).find((o) => o.start <= at && at < o.end) ?? null
}

export function isInside(windows: readonly Window[], at: number): boolean {
  return currentOccurrence(windows, at) !== null
}

/** The first opening that starts after `at`; null without windows. */
export function nextOpening(windows: readonly Window[], at: number): Occurrence | null {
  return occurrencesAround(windows, at).find((o) => o.start > at) ?? null
}

/**
 * Where in an opening a host installs: its rollout bucket (0–99, update/rollout.ts) spread
 * over the opening minus the end kept for the install (min(15 min, a quarter)), in whole
 * seconds, so that a fleet with one window does not install in the same minute.
 */
export function installPointIn(o: Occurrence, bucket: number): number {
  const length = o.end - o.start
  const spread = length - Math.min(MAX_RESERVE_MIN * MINUTE, length / 4)
  const b = Math.min(Math.max(Math.floor(bucket), 0), 99)
  return o.start + Math.floor((spread * b) / 100 / 1000) * 1000
}

/**
 * When a host with `bucket` may install, as of `at`: `at` itself when it is inside an opening
 * past the host's install point, else the earliest install point still ahead (in the opening
 * it is in, or a later one). Null without windows (no window: install at any time).
 */
export function installSlot(windows: readonly Window[], at: number, bucket: number): { at: number; occurrence: Occurrence } | null {
  let best: { at: number; occurrence: Occurrence } | null = null
  for (const o of occurrencesAround(windows, at)) {
    if (o.end <= at) continue
    const point = installPointIn(o, bucket)
    const when = Math.max(point, at)
    if (when >= o.end) continue
    if (best === null || when < best.at) best = { at: when, occurrence: o }
  }
  return best
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** `02:17 UTC`, or `02:17:36 UTC` when not on a whole minute. */
export function formatClock(ms: number): string {
  const t = iso(ms).slice(11, 19)
  return `${t.endsWith(':00') ? t.slice(0, 5) : t} UTC`
}

/** `Tue 2026-12-08 02:00 UTC` (02:17:36 when not on a whole minute). */
export function formatDayTime(ms: number): string {
  return `${DAY_NAMES[new Date(ms).getUTCDay()]} ${iso(ms).slice(0, 10)} ${formatClock(ms)}`
}
