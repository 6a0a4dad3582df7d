// The bench's own arithmetic: targets met or not, the summary, and the comparison of two
// results files, run as the real script on real files.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { readmeWithTable, table, targetMet, targetSummary, withTargets, type Figure } from '../../scripts/bench/figures.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..', '..')
const COMPARE = join(ROOT, 'scripts', 'bench', 'compare.ts')

const fig = (over: Partial<Figure> & Pick<Figure, 'name' | 'value'>, baseline = 100): Figure => ({
  unit: 'ms',
  baseline: { name: 'node -e 0', value: baseline },
  better: 'lower',
  ...over,
})

describe('targets', () => {
  it('a lower-is-better ratio target is met at or below the ratio, not above', () => {
    const target = { ratio: 1.2, better: 'lower' } as const
    expect(targetMet(fig({ name: 'a', value: 120, target }))).toBe(true)
    expect(targetMet(fig({ name: 'a', value: 121, target }))).toBe(false)
  })

  it('a higher-is-better ratio target is met at or above the ratio, not below', () => {
    const target = { ratio: 0.95, better: 'higher' } as const
    expect(targetMet(fig({ name: 'a', value: 95, better: 'higher', target }))).toBe(true)
    expect(targetMet(fig({ name: 'a', value: 94, better: 'higher', target }))).toBe(false)
  })

  it('an absolute bound is on the value, whatever the baseline', () => {
    expect(targetMet(fig({ name: 'a', value: 400, unit: 'bytes', target: { max: 400 } }, 1))).toBe(true)
    expect(targetMet(fig({ name: 'a', value: 401, unit: 'bytes', target: { max: 400 } }, 10_000))).toBe(false)
  })

  it('a zero baseline never meets a ratio target; no target is neither met nor missed', () => {
    expect(targetMet(fig({ name: 'a', value: 0, target: { ratio: 10, better: 'lower' } }, 0))).toBe(false)
    expect(targetMet(fig({ name: 'a', value: 1 }))).toBeUndefined()
  })

  it("issue 14's targets land on today's figures by name and baseline, and a module's own target wins", () => {
    const figures = withTargets([
      fig({ name: 'cco --version start time (single executable, median of 20)', value: 60 }),
      fig({ name: 'cco --version start time (bundle run by node, median of 20)', value: 60 }),
      fig({ name: 'one 304 exchange (request + response)', value: 390, unit: 'bytes' }),
      fig({ name: 'manifest GET, edge-cache hit: throughput', value: 1, better: 'higher', baseline: { name: 'nginx', value: 9 } }),
      fig({ name: 'manifest GET, edge-cache hit: throughput', value: 1, better: 'higher', baseline: { name: 'wrangler dev, same bytes from memory', value: 1 } }),
      fig({ name: 'one 304 exchange (request + response)', value: 390, unit: 'bytes', target: { max: 380 } }),
    ])
    expect(figures.map((f) => f.target)).toEqual([
      { ratio: 1.15, better: 'lower' },
      undefined,
      { max: 400 },
      undefined,
      { ratio: 0.95, better: 'higher' },
      { max: 380 },
    ])
  })

  it('the table has a target column and the summary counts and names the missed ones', () => {
    const figures = [
      fig({ name: 'fast', value: 110, target: { ratio: 1.2, better: 'lower' } }),
      fig({ name: 'slow', value: 150, target: { ratio: 1.15, better: 'lower' } }),
      fig({ name: 'bytes', value: 442, unit: 'bytes', target: { max: 400 } }),
      fig({ name: 'untargeted', value: 1 }),
    ]
    const lines = table(figures).split('\n')
    expect(lines[0]).toBe('| figure | cco | baseline | ratio | target |')
    expect(lines[2]).toContain('| ≤ 1.20×: met |')
    expect(lines[3]).toContain('| ≤ 1.15×: **NOT met** |')
    expect(lines[4]).toContain('| ≤ 400 bytes: **NOT met** |')
    expect(lines[5]).toMatch(/\|  \|$/)
    expect(targetSummary(figures).split('\n')).toEqual([
      '1 of 3 targets met',
      '  NOT met: slow: 1.50× node -e 0, target ≤ 1.15×',
      '  NOT met: bytes: 442 bytes, target ≤ 400 bytes',
    ])
    expect(targetSummary([fig({ name: 'untargeted', value: 1 })])).toBe('no figure in this run has a target')
  })
})

describe('--readme', () => {
  it('replaces only the text between the markers with the table and the target count', () => {
    const readme = '# cco\n\n## Benchmarks\n\n<!-- bench:start -->\nold table\n<!-- bench:end -->\n\nReading it: …\n'
    const figures = [fig({ name: 'one 304 exchange', value: 442, unit: 'bytes', target: { max: 400 } })]
    expect(readmeWithTable(readme, 'Measured today:', figures)).toBe(
      '# cco\n\n## Benchmarks\n\n<!-- bench:start -->\nMeasured today:\n\n' + table(figures) + '\n\n0 of 1 targets met.\n<!-- bench:end -->\n\nReading it: …\n',
    )
    expect(() => readmeWithTable('# cco\n<!-- bench:end -->\n<!-- bench:start -->\n', 'x', figures)).toThrow(/markers/)
  })
})

describe('npm run bench:compare', () => {
  let dir: string | undefined
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })

  function files(old: unknown, now: unknown): [string, string] {
    dir = mkdtempSync(join(tmpdir(), 'cco-bench-compare-'))
    const paths: [string, string] = [join(dir, 'old.json'), join(dir, 'new.json')]
    writeFileSync(paths[0], typeof old === 'string' ? old : JSON.stringify(old))
    writeFileSync(paths[1], JSON.stringify(now))
    return paths
  }

  const start = { name: 'cco --version start time', value: 66.9, unit: 'ms', better: 'lower', baseline: { name: 'node -e 0', value: 51.2 }, samples: [66, 67, 68] }
  const rps = { name: 'manifest GET, edge-cache hit: throughput', value: 326, unit: 'req/s', better: 'higher', baseline: { name: 'wrangler dev, same bytes from memory', value: 442 } }

  it('prints old, new and new/old for each figure in both runs, better or worse by its direction', async () => {
    const [o, n] = files(
      { at: '2026-11-26T00:00:00Z', machine: 'm1', figures: [start, rps, { ...rps, name: 'gone', value: 1 }] },
      { at: '2026-12-01T00:00:00Z', machine: 'm1', quick: true, figures: [{ ...start, value: 33.45 }, { ...rps, value: 489 }, { ...rps, baseline: { name: 'nginx', value: 9000 } }] },
    )
    const { stdout } = await run(process.execPath, [COMPARE, o, n])
    const lines = stdout.split('\n')
    expect(lines).toContain('| cco --version start time | node -e 0 | 66.9 ms | 33.5 ms | 0.50× | better | 1.31× → 0.65× |')
    expect(lines).toContain('| manifest GET, edge-cache hit: throughput | wrangler dev, same bytes from memory | 326 req/s | 489 req/s | 1.50× | better | 0.74× → 1.11× |')
    expect(stdout).toContain('2 figures in both runs; 1 only in the old one, 1 only in the new one')
    expect(stdout).toContain('new: 2026-12-01T00:00:00Z (quick run) on m1')
    expect(stdout).not.toContain('different machines')
  })

  it('a slower run is marked worse, and hostile names are escaped', async () => {
    const hostile = { ...start, name: 'start\x1b[2J|x' }
    const [o, n] = files({ at: 'a', figures: [hostile] }, { at: 'b', figures: [{ ...hostile, value: 100.35 }] })
    const { stdout } = await run(process.execPath, [COMPARE, o, n])
    expect(stdout).toContain('| start\\x1b[2J\\|x | node -e 0 | 66.9 ms | 100 ms | 1.50× | worse | 1.31× → 1.96× |')
    expect(stdout).not.toContain('\x1b')
    expect(stdout).not.toContain('different machines')
  })

  it('says so when the two runs come from different machines', async () => {
    const [o, n] = files({ at: 'a', machine: 'm1', figures: [start] }, { at: 'b', machine: 'm2', figures: [{ ...start, value: 67.2 }] })
    const { stdout } = await run(process.execPath, [COMPARE, o, n])
    expect(stdout).toContain('different machines')
    // 67.2 / 66.9 reads 1.00×: too small a change to call worse.
    expect(stdout).toContain('| 66.9 ms | 67.2 ms | 1.00× |  | 1.31× → 1.31× |')
  })

  it('refuses a file that is not a results file, naming it', async () => {
    const [o, n] = files('{"at": "a", "figures": [{"name": 1}]}', { at: 'b', figures: [] })
    const err = await run(process.execPath, [COMPARE, o, n]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    )
    expect(err?.code).toBe(1)
    expect(err?.stderr).toContain(`${o}: not a bench results file`)
  })
})
