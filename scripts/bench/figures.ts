// A benchmark figure next to its baseline measured in the same run, and the table that
// prints them.

export interface Figure {
  /** What was measured. */
  name: string
  value: number
  unit: string
  baseline: { name: string; value: number }
  /** Which direction is better, so the ratio can be read at a glance. */
  better: 'lower' | 'higher'
  note?: string
}

export function ratio(f: Figure): number {
  return f.baseline.value === 0 ? Number.NaN : f.value / f.baseline.value
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (Math.abs(n) >= 100) return n.toFixed(0)
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** A Markdown table: the same text goes to the terminal and into the README. */
export function table(figures: readonly Figure[]): string {
  const rows = [
    ['figure', 'cco', 'baseline', 'ratio'],
    ['---', '---:', '---', '---:'],
    ...figures.map((f) => [
      f.name + (f.note ? ` (${f.note})` : ''),
      `${fmt(f.value)} ${f.unit}`,
      `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}`,
      Number.isFinite(ratio(f)) ? `${fmt(ratio(f))}× (${f.better} is better)` : `— (baseline ${fmt(f.baseline.value)})`,
    ]),
  ]
  return rows.map((r) => `| ${r.join(' | ')} |`).join('\n')
}
