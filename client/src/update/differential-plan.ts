// Which bytes of the chunk pack a differential update fetches (client/README.md, "Differential
// updates"): the chunks of the new binary that the installed one lacks, as pack ranges merged
// across small gaps and capped in number, so that a few KiB of unneeded bytes buy one request
// less. Pure: the tests feed it plain data.
import type { BlockMap } from '../../../contract/blockmap.ts'

/** Two ranges this close in the pack become one request (the bytes between are fetched and dropped). */
export const RANGE_GAP_BYTES = 64 * 1024
/** Most range requests per update; past it the closest ranges are merged until it holds. */
export const MAX_RANGE_REQUESTS = 32

/** A byte range of the pack, `[start, end)`. */
export interface PackRange {
  start: number
  end: number
}

/** A chunk to fetch: where it is in the pack, its uncompressed length and sha256. */
export interface MissingChunk {
  sha256: string
  length: number
  packOffset: number
  packLength: number
}

export interface RangePlan {
  /** Each distinct missing chunk once, in pack order. */
  missing: MissingChunk[]
  /** The requests, in pack order; together they cover every missing chunk. */
  ranges: PackRange[]
  /** Bytes the ranges add up to (what the requests will transfer). */
  bytes: number
}

/** The ranges that fetch the chunks of `map` whose sha256 is not in `local`. */
export function planRanges(map: Pick<BlockMap, 'chunks'>, local: { has(sha256: string): boolean }, o: { gap?: number; maxRequests?: number } = {}): RangePlan {
  const gap = o.gap ?? RANGE_GAP_BYTES
  const maxRequests = Math.max(1, o.maxRequests ?? MAX_RANGE_REQUESTS)
  const seen = new Set<string>()
  const missing: MissingChunk[] = []
  for (const [, length, sha256, packOffset, packLength] of map.chunks) {
    if (local.has(sha256) || seen.has(sha256)) continue
    seen.add(sha256)
    missing.push({ sha256, length, packOffset, packLength })
  }
  missing.sort((a, b) => a.packOffset - b.packOffset)

  // Adjacent or nearly adjacent chunks: one range.
  const ranges: PackRange[] = []
  for (const c of missing) {
    const last = ranges.at(-1)
    const end = c.packOffset + c.packLength
    if (last && c.packOffset - last.end <= gap) last.end = Math.max(last.end, end)
    else ranges.push({ start: c.packOffset, end })
  }

  // Too many requests: close the smallest gaps first (they cost the fewest extra bytes).
  if (ranges.length > maxRequests) {
    const gaps = ranges.slice(1).map((r, i) => ({ i, size: r.start - ranges[i]!.end }))
    gaps.sort((a, b) => a.size - b.size || a.i - b.i)
    const close = new Set(gaps.slice(0, ranges.length - maxRequests).map((g) => g.i))
    const merged: PackRange[] = [{ ...ranges[0]! }]
    for (let i = 1; i < ranges.length; i++) {
      if (close.has(i - 1)) merged.at(-1)!.end = ranges[i]!.end
      else merged.push({ ...ranges[i]! })
    }
    ranges.splice(0, ranges.length, ...merged)
  }
  return { missing, ranges, bytes: ranges.reduce((n, r) => n + (r.end - r.start), 0) }
}
