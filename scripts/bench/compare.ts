// Two bench runs side by side: for each figure present in both results files (same name, same
// baseline), the old value, the new value and new/old, marked better or worse by the figure's
// own direction, and its ratio to its baseline in each run. Figures only in one run are
// counted, not compared.
//   npm run bench:compare -- OLD.json [NEW.json]   (NEW defaults to bench/results.json)
//   npm run bench -- --compare OLD.json             (compares the run just made)
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { safeText } from '../../client/src/system/terminal-text.ts'
import { figureKey, fmt } from './figures.ts'

// A results file is read back from disk (possibly from another machine or an older bench):
// only what the comparison uses is required, anything else is ignored.
const FigureRecord = z.object({
  name: z.string(),
  value: z.number(),
  unit: z.string(),
  better: z.enum(['lower', 'higher']),
  baseline: z.object({ name: z.string(), value: z.number() }),
})
const ResultsFile = z.object({ at: z.string(), machine: z.string().optional(), quick: z.boolean().optional(), figures: z.array(FigureRecord) })
export type Results = z.infer<typeof ResultsFile>

/** JSON.stringify turns NaN and Infinity into null: read them back as NaN. */
function revive(doc: unknown): unknown {
  if (doc === null || typeof doc !== 'object' || !('figures' in doc) || !Array.isArray(doc.figures)) return doc
  return {
    ...doc,
    figures: doc.figures.map((f: unknown) => {
      if (f === null || typeof f !== 'object') return f
      const r = f as { value?: unknown; baseline?: unknown }
      const b = r.baseline as { value?: unknown } | undefined
      return { ...r, value: r.value ?? Number.NaN, baseline: b && typeof b === 'object' ? { ...b, value: b.value ?? Number.NaN } : b }
    }),
  }
}

export function parseResults(text: string, path: string): Results {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    throw new Error(`${path}: not JSON (${(e as Error).message})`)
  }
  const parsed = ResultsFile.safeParse(revive(doc))
  if (!parsed.success) throw new Error(`${path}: not a bench results file (${z.prettifyError(parsed.error)})`)
  return parsed.data
}

export function loadResults(path: string): Results {
  return parseResults(readFileSync(path, 'utf8'), path)
}

/** A Markdown table of the figures in both runs, then what was left out; every field escaped. */
export function compareResults(old: Results, now: Results): string {
  const before = new Map(old.figures.map((f) => [figureKey(f), f]))
  const keys = new Set<string>()
  const rows: string[][] = [
    ['figure', 'baseline', 'old', 'new', 'new / old', '', 'ratio to baseline, old → new'],
    ['---', '---', '---:', '---:', '---:', '---', '---:'],
  ]
  for (const f of now.figures) {
    const key = figureKey(f)
    const o = before.get(key)
    if (!o || keys.has(key)) continue
    keys.add(key)
    const r = o.value === 0 ? Number.NaN : f.value / o.value
    // Units can change between bench versions: a ratio across units would mean nothing.
    const sameUnit = o.unit === f.unit
    // A change too small to show in the printed ratio (it reads 1.00×) is no verdict either.
    const verdict = !sameUnit ? 'unit changed' : !Number.isFinite(r) || fmt(r) === '1.00' ? '' : (r < 1) === (f.better === 'lower') ? 'better' : 'worse'
    // The ratio to each run's own baseline: on a loaded or different machine it moves less
    // than the raw value does.
    const toBase = (x: { value: number; baseline: { value: number } }) => (x.baseline.value === 0 ? '—' : `${fmt(x.value / x.baseline.value)}×`)
    rows.push([f.name, f.baseline.name, `${fmt(o.value)} ${o.unit}`, `${fmt(f.value)} ${f.unit}`, sameUnit && Number.isFinite(r) ? `${fmt(r)}×` : '—', verdict, `${toBase(o)} → ${toBase(f)}`])
  }
  const onlyOld = old.figures.filter((f) => !keys.has(figureKey(f))).length
  const onlyNew = now.figures.filter((f) => !keys.has(figureKey(f))).length
  const cell = (s: string) => safeText(s).replaceAll('|', '\\|')
  return [
    `old: ${safeText(old.at)}${old.quick ? ' (quick run)' : ''}${old.machine ? ` on ${safeText(old.machine)}` : ''}`,
    `new: ${safeText(now.at)}${now.quick ? ' (quick run)' : ''}${now.machine ? ` on ${safeText(now.machine)}` : ''}`,
    ...(old.machine && now.machine && old.machine !== now.machine ? ['different machines: the ratios to each baseline compare better than the raw values'] : []),
    '',
    ...rows.map((r, i) => `| ${(i < 2 ? r : r.map(cell)).join(' | ')} |`),
    '',
    `${keys.size} figures in both runs; ${onlyOld} only in the old one, ${onlyNew} only in the new one`,
  ].join('\n')
}

function main(args: string[]): number {
  if (args.length < 1 || args.length > 2 || args.some((a) => a.startsWith('-'))) {
    process.stderr.write('usage: npm run bench:compare -- OLD.json [NEW.json]\n')
    return 2
  }
  const root = resolve(import.meta.dirname, '..', '..')
  const [oldPath, newPath = join(root, 'bench', 'results.json')] = args as [string, string?]
  try {
    process.stdout.write(compareResults(loadResults(oldPath), loadResults(newPath)) + '\n')
    return 0
  } catch (e) {
    process.stderr.write(`bench:compare: ${safeText((e as Error).message)}\n`)
    return 1
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2))
