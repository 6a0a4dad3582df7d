// The fleet's pure rules with plain data: the per-host rate window, how a report moves a host's
// recorded state, pages merged across shards (any split of the rows, any quota: every row once,
// in order), and the opaque cursors.
import { describe, expect, it } from 'vitest'
import type { FleetReport } from '../../contract/fleet.ts'
import { mergeShardPages, readEventCursor, readHostCursor, shardQuota } from '../../worker/fleet/merge.ts'
import { REPORT_WINDOW_MS, REPORTS_PER_WINDOW, admitReport, nextHostState } from '../../worker/fleet/policy.ts'

const T = Date.parse('2026-11-20T10:00:00Z')

describe('admitReport', () => {
  it('lets 20 reports in within 10 minutes and tells the 21st when the oldest leaves the window', () => {
    let recent: number[] = []
    for (let i = 0; i < REPORTS_PER_WINDOW; i++) {
      const a = admitReport(recent, T + i * 1000)
      if (!a.ok) throw new Error(`refused report ${i}`)
      recent = a.recent
    }
    expect(admitReport(recent, T + 30_000)).toEqual({ ok: false, retryAfterS: 570 })
    expect(admitReport(recent, T + REPORT_WINDOW_MS - 1)).toEqual({ ok: false, retryAfterS: 1 })
    const later = admitReport(recent, T + REPORT_WINDOW_MS)
    expect(later.ok).toBe(true)
    // Times that left the window are forgotten; the list never grows past the limit.
    if (later.ok) expect(later.recent).toHaveLength(REPORTS_PER_WINDOW)
  })
})

describe('nextHostState', () => {
  const host = '3f2a0c4e-1b7d-4c9a-9e21-5a8f0d6b7c11'
  const at = (ms: number) => new Date(T + ms).toISOString()
  const report = (o: Partial<FleetReport>): FleetReport => ({
    schema: 1,
    product: 'cco',
    host_id: host,
    channel: 'stable',
    platform: 'linux-x86_64',
    version: '2026.11.1',
    check_interval_s: 3600,
    events: [{ id: crypto.randomUUID(), at: at(0), kind: 'check', outcome: 'up-to-date' }],
    ...o,
  })

  it('records a new host with its staleness deadline', () => {
    const s = nextHostState(null, report({ labels: { role: 'web' } }), 7, T + 5000)
    expect(s).toMatchObject({ hostId: host, shardHash: 7, versionKey: '2026.11.1', firstSeen: T + 5000, lastSeen: T + 5000, staleAfter: T + 5000 + 7_200_000, stateAt: T, labels: { role: 'web' } })
    expect(s.lastEvent).toEqual({ kind: 'check', outcome: 'up-to-date', at: T })
  })

  it('keeps the newer fields when an older report arrives late, but moves last seen', () => {
    const newer = nextHostState(null, report({ version: '2026.11.2', events: [{ id: crypto.randomUUID(), at: at(60_000), kind: 'install', outcome: 'installed', to: '2026.11.2' }] }), 7, T + 61_000)
    const late = nextHostState(newer, report({ version: '2026.11.1', name: 'old-name' }), 7, T + 120_000)
    expect(late).toMatchObject({ version: '2026.11.2', name: null, lastSeen: T + 120_000, firstSeen: T + 61_000, lastEvent: { kind: 'install', at: T + 60_000 } })
  })

  it('remembers the latest failed install and rollback, whatever else follows', () => {
    const s1 = nextHostState(
      null,
      report({
        events: [
          { id: crypto.randomUUID(), at: at(1000), kind: 'install', outcome: 'failed', to: '2026.11.2' },
          { id: crypto.randomUUID(), at: at(2000), kind: 'install', outcome: 'installed', to: '2026.11.2' },
          { id: crypto.randomUUID(), at: at(3000), kind: 'rollback', outcome: 'rolled-back', from: 'v2026.11.2.0', to: '2026.11.1' },
        ],
      }),
      7,
      T + 4000,
    )
    expect(s1.failedInstall).toEqual({ version: '2026.11.2', key: '2026.11.2', at: T + 1000 })
    expect(s1.rolledBack).toEqual({ from: 'v2026.11.2.0', key: '2026.11.2', at: T + 3000 })
    const s2 = nextHostState(s1, report({}), 7, T + 5000)
    expect(s2.failedInstall).toEqual(s1.failedInstall)
    expect(s2.rolledBack).toEqual(s1.rolledBack)
  })

  it('takes an event from a clock ahead of the broker\'s as arriving now', () => {
    const s = nextHostState(null, report({ events: [{ id: crypto.randomUUID(), at: '2099-01-01T00:00:00Z', kind: 'check', outcome: 'up-to-date' }] }), 7, T)
    expect(s.stateAt).toBe(T)
    expect(s.lastEvent!.at).toBe(T)
  })
})

describe('mergeShardPages', () => {
  const cmp = (a: number, b: number) => a - b

  /** Pages through rows split over shards as the route does, returning what each page showed. */
  function pageThrough(shards: number[][], limit: number): { rows: number[]; pages: number } {
    const quota = shardQuota(limit, shards.length)
    const rows: number[] = []
    let after = -Infinity
    let pages = 0
    for (;;) {
      const answers = shards.map((s) => s.filter((r) => r > after).sort(cmp).slice(0, quota + 1))
      const { rows: page, more } = mergeShardPages(answers, quota, limit, cmp)
      pages++
      expect(page.length).toBeLessThanOrEqual(limit)
      rows.push(...page)
      if (!more) return { rows, pages }
      expect(page.length).toBeGreaterThan(0)
      after = page.at(-1)!
    }
  }

  it('returns every row exactly once, in order, however the rows are spread', () => {
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(Math.random() * 400)
      const shardCount = 1 + Math.floor(Math.random() * 20)
      // Sometimes all rows in one shard, the worst case for the quota.
      const skewed = trial % 4 === 0
      const shards: number[][] = Array.from({ length: shardCount }, () => [])
      for (let r = 0; r < n; r++) shards[skewed ? 0 : Math.floor(Math.random() * shardCount)]!.push(r)
      const limit = 1 + Math.floor(Math.random() * 60)
      const { rows } = pageThrough(shards, limit)
      expect(rows).toEqual(Array.from({ length: n }, (_, i) => i))
    }
  })

  it('fills pages when the rows are spread evenly', () => {
    const shards: number[][] = Array.from({ length: 16 }, () => [])
    for (let r = 0; r < 5000; r++) shards[r % 16]!.push(r)
    expect(pageThrough(shards, 500).pages).toBe(10)
  })
})

describe('cursors', () => {
  it('read back only what this broker wrote', () => {
    expect(readHostCursor('eyJoIjoiM2YyYTBjNGUtMWI3ZC00YzlhLTllMjEtNWE4ZjBkNmI3YzExIn0')).toBe('3f2a0c4e-1b7d-4c9a-9e21-5a8f0d6b7c11')
    for (const bad of ['', 'x', '!!!', btoa('[]'), btoa('{"h":1}'), btoa('{"h":"../../etc"}'), 'A'.repeat(600)]) {
      expect(readHostCursor(bad.replace(/=+$/, '')), bad).toBeNull()
      expect(readEventCursor(bad.replace(/=+$/, '')), bad).toBeNull()
    }
  })
})
