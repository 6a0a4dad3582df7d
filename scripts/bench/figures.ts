// A benchmark figure next to its baseline measured in the same run, and the table that
// prints them.

/**
 * What a figure should reach: a ratio to its baseline (≤ for lower-is-better figures, ≥ for
 * higher-is-better ones), or an absolute bound on the value itself (e.g. ≤ 400 bytes).
 */
export type Target = { ratio: number; better: 'lower' | 'higher' } | { max: number }

export interface Figure {
  /** What was measured. */
  name: string
  value: number
  unit: string
  /** The raw samples `value` was computed from (e.g. each run's time), kept so runs can be compared. */
  samples?: number[]
  baseline: { name: string; value: number; samples?: number[] }
  /** Which direction is better, so the ratio can be read at a glance. */
  better: 'lower' | 'higher'
  target?: Target
  note?: string
}

export function ratio(f: Figure): number {
  return f.baseline.value === 0 ? Number.NaN : f.value / f.baseline.value
}

/**
 * Whether the figure meets its target, or undefined when it has none. A ratio that cannot be
 * computed (a zero baseline) never meets a ratio target.
 */
export function targetMet(f: Figure): boolean | undefined {
  const t = f.target
  if (!t) return undefined
  if ('max' in t) return f.value <= t.max
  const r = ratio(f)
  if (!Number.isFinite(r)) return false
  return t.better === 'lower' ? r <= t.ratio : r >= t.ratio
}

/** The target as the table prints it: "≤ 1.20×", "≥ 0.95×", "≤ 400 bytes". */
export function targetText(f: Figure): string {
  const t = f.target
  if (!t) return ''
  if ('max' in t) return `≤ ${fmt(t.max)} ${f.unit}`
  return `${t.better === 'lower' ? '≤' : '≥'} ${t.ratio.toFixed(2)}×`
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 100) return n.toFixed(0)
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** A Markdown table: the same text goes to the terminal and into the README. */
export function table(figures: readonly Figure[]): string {
  const rows = [
    ['figure', 'cco', 'baseline', 'ratio', 'target'],
    ['---', '---:', '---', '---:', '---'],
    ...figures.map((f) => {
      const met = targetMet(f)
      return [
        f.name + (f.note ? ` (${f.note})` : ''),
        `${fmt(f.value)} ${f.unit}`,
        `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}`,
        Number.isFinite(ratio(f)) ? `${fmt(ratio(f))}× (${f.better} is better)` : `— (baseline ${fmt(f.baseline.value)})`,
        met === undefined ? '' : `${targetText(f)}: ${met ? 'met' : '**NOT met**'}`,
      ]
    }),
  ]
  return rows.map((r) => `| ${r.join(' | ')} |`).join('\n')
}

/** "n of m targets met", then one line per missed target (what it is and what was measured). */
export function targetSummary(figures: readonly Figure[]): string {
  const targeted = figures.filter((f) => f.target)
  const missed = targeted.filter((f) => !targetMet(f))
  if (targeted.length === 0) return 'no figure in this run has a target'
  const lines = [`${targeted.length - missed.length} of ${targeted.length} targets met`]
  for (const f of missed) {
    const got = f.target && 'max' in f.target ? `${fmt(f.value)} ${f.unit}` : `${fmt(ratio(f))}× ${f.baseline.name}`
    lines.push(`  NOT met: ${f.name}: ${got}, target ${targetText(f)}`)
  }
  return lines.join('\n')
}

/**
 * A figure's identity across runs: its name and its baseline's name (one measurement can be
 * shown against two baselines, as the manifest throughput is).
 */
export function figureKey(f: Pick<Figure, 'name' | 'baseline'>): string {
  return `${f.name} :: ${f.baseline.name}`
}

/**
 * The performance targets for figures whose modules do not set their own (issue 14's table):
 * matched by the figure's name and baseline, applied by the bench before it prints. A module
 * that sets `target` on a figure wins.
 */
export const TARGETS: readonly { name: RegExp; baseline?: RegExp; target: Target }[] = [
  { name: /^cco update --yes\b/, baseline: /^curl -o/, target: { ratio: 1.2, better: 'lower' } },
  // The single executable only: the one-file bundle (--bundle) pays node's own start-up twice over.
  { name: /^cco --version start time \(single executable\b/, baseline: /^node -e 0$/, target: { ratio: 1.15, better: 'lower' } },
  { name: /^daemon idle RSS\b/, baseline: /^node listening on a port$/, target: { ratio: 1.1, better: 'lower' } },
  { name: /^one 304 exchange\b/, target: { max: 400 } },
  { name: /^manifest GET, edge-cache hit: throughput$/, baseline: /^wrangler dev, same bytes from memory$/, target: { ratio: 0.95, better: 'higher' } },
]

export function withTargets(figures: readonly Figure[]): Figure[] {
  return figures.map((f) => {
    if (f.target) return f
    const rule = TARGETS.find((t) => t.name.test(f.name) && (!t.baseline || t.baseline.test(f.baseline.name)))
    return rule ? { ...f, target: rule.target } : f
  })
}

/**
 * README.md with the text between `<!-- bench:start -->` and `<!-- bench:end -->` replaced by
 * `heading`, this run's table and its target count; everything outside the markers is kept.
 */
export function readmeWithTable(readme: string, heading: string, figures: readonly Figure[]): string {
  const start = readme.indexOf('<!-- bench:start -->')
  const end = readme.indexOf('<!-- bench:end -->')
  if (start < 0 || end < start) throw new Error('README.md has no <!-- bench:start --> … <!-- bench:end --> markers')
  const block = `<!-- bench:start -->\n${heading}\n\n${table(figures)}\n\n${targetSummary(figures).split('\n')[0]}.\n`
  return readme.slice(0, start) + block + readme.slice(end)
}
