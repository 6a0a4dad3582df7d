// `npm run fuzz [-- --runs N] [--seed S] [FILTER…]`: the fuzz suite (test/client/fuzz-*) with
// many runs per property and a fixed, printed seed, so a failure can be replayed exactly.
// `npm test` runs the same files with FUZZ_RUNS unset (a few hundred runs, a random seed).
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const ROOT = resolve(import.meta.dirname, '..')
const USAGE = 'usage: npm run fuzz -- [--runs 20000] [--seed 20261126] [FILTER…]   (FILTER: e.g. fuzz-manifest)'

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: process.env.FUZZ_RUNS ?? '20000' },
      seed: { type: 'string', default: process.env.FUZZ_SEED ?? '20261126' },
      help: { type: 'boolean', short: 'h' },
    },
  })
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  process.exit(2)
}
const { values, positionals } = parsed
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
for (const [name, value] of [['--runs', values.runs], ['--seed', values.seed]] as const) {
  if (!/^\d+$/.test(value)) {
    console.error(`${name} must be a whole number, got ${JSON.stringify(value)}\n${USAGE}`)
    process.exit(2)
  }
}

const filters = positionals.length ? positionals.map((p) => `test/client/${p.replace(/^test\/client\//, '')}`) : ['test/client/fuzz-']
console.error(`fuzz: FUZZ_RUNS=${values.runs} (per property, scaled by its weight), FUZZ_SEED=${values.seed}, files ${filters.join(' ')}`)
const started = Date.now()
const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'node', ...filters], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: values.runs, FUZZ_SEED: values.seed },
})
const seconds = ((Date.now() - started) / 1000).toFixed(1)
console.error(`fuzz: ${r.status === 0 ? 'passed' : 'FAILED'} in ${seconds} s (FUZZ_RUNS=${values.runs}, FUZZ_SEED=${values.seed})`)
process.exit(r.status ?? 1)
