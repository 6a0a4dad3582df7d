// Which pack ranges a differential update asks for (client/src/update/differential-plan.ts):
// only chunks the installed binary lacks, each once, neighbours and small gaps merged, and no
// more requests than the cap, closing the smallest gaps first.
import { describe, expect, it } from 'vitest'
import type { BlockMapChunk } from '../../contract/blockmap.ts'
import { MAX_RANGE_REQUESTS, planRanges, RANGE_GAP_BYTES } from '../../client/src/update/differential-plan.ts'

const KiB = 1024
const sha = (n: number) => n.toString(16).padStart(64, '0')

/** Chunks of 64 KiB each, stored in the pack at the given [offset, length] places. */
function chunks(places: Array<[sha: number, packOffset: number, packLength: number]>): BlockMapChunk[] {
  return places.map(([s, at, length], i) => [i * 64 * KiB, 64 * KiB, sha(s), at, length])
}

describe('planRanges', () => {
  it('asks only for chunks the installed binary lacks, each once', () => {
    const map = { chunks: chunks([[1, 0, 100], [2, 100, 100], [1, 0, 100], [3, 200, 100]]) }
    const plan = planRanges(map, new Set([sha(2)]))
    expect(plan.missing.map((c) => c.sha256)).toEqual([sha(1), sha(3)])
    // 0-100 and 200-300 are 100 bytes apart: one range.
    expect(plan.ranges).toEqual([{ start: 0, end: 300 }])
    expect(plan.bytes).toBe(300)
  })

  it('keeps ranges apart when the gap between them is larger than the bound', () => {
    const far = 100 + RANGE_GAP_BYTES + 1
    const plan = planRanges({ chunks: chunks([[1, 0, 100], [2, far, 50]]) }, new Set())
    expect(plan.ranges).toEqual([{ start: 0, end: 100 }, { start: far, end: far + 50 }])
    expect(plan.bytes).toBe(150)
  })

  it('merges across a gap of exactly the bound', () => {
    const plan = planRanges({ chunks: chunks([[1, 0, 100], [2, 100 + RANGE_GAP_BYTES, 50]]) }, new Set())
    expect(plan.ranges).toHaveLength(1)
  })

  it('stays within the request cap by closing the smallest gaps first', () => {
    // Gaps (after each range) of 1, 3, 2 times the bound: with a cap of 2, the smallest two close.
    const g = RANGE_GAP_BYTES
    const places: Array<[number, number, number]> = [[1, 0, 10], [2, 10 + 2 * g, 10], [3, 20 + 5 * g, 10], [4, 30 + 7 * g, 10]]
    const plan = planRanges({ chunks: chunks(places) }, new Set(), { maxRequests: 2 })
    expect(plan.ranges).toEqual([
      { start: 0, end: 20 + 2 * g },
      { start: 20 + 5 * g, end: 40 + 7 * g },
    ])
    expect(planRanges({ chunks: chunks(places) }, new Set()).ranges).toHaveLength(4)
    expect(MAX_RANGE_REQUESTS).toBeGreaterThanOrEqual(4)
  })

  it('plans nothing when every chunk is installed', () => {
    const plan = planRanges({ chunks: chunks([[1, 0, 100]]) }, new Set([sha(1)]))
    expect(plan).toEqual({ missing: [], ranges: [], bytes: 0 })
  })
})
