// `npm run bench`: every figure next to a baseline measured in the same run, printed as a
// table and written to bench/results.json. Not part of `npm test`: numbers are measured here,
// never asserted in tests.
//   npm run bench [-- --quick] [--only manifest,update,startup,daemon]
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { clientBundle } from '../test/support/client-bundles.ts'
import { table, ratio, type Figure } from './bench/figures.ts'
import { benchManifest } from './bench/manifest.ts'
import { benchDaemonIdle, benchStartup } from './bench/processes.ts'
import { benchUpdate } from './bench/update.ts'

const ROOT = resolve(import.meta.dirname, '..')
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    binary: { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
  },
})
const quick = values.quick
const only = new Set((values.only ?? 'manifest,update,startup,daemon').split(','))
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

// The client measured: a single executable when one is given (--binary, from
// `npm run build:release`), else the one-file bundle, labelled as such.
const binary = values.binary ? resolve(values.binary) : await clientBundle({ version: '2026.11.3' })
const label = values.binary ? 'single executable' : 'bundle run by node'

const figures: Figure[] = []
const started = Date.now()
if (only.has('manifest')) figures.push(...(await benchManifest({ duration: quick ? 3 : 10, connections: 20, webhookSamples: quick ? 3 : 10 }, log)))
if (only.has('update')) figures.push(...(await benchUpdate({ mib: 40, runs: quick ? 1 : 3 }, log)))
if (only.has('startup')) figures.push(...benchStartup({ binary, label, runs: quick ? 5 : 20 }))
if (only.has('daemon')) figures.push(...(await benchDaemonIdle({ binary, label, seconds: quick ? 10 : 60 }, log)))

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`
const results = {
  at: new Date().toISOString(),
  machine,
  quick,
  seconds: Math.round((Date.now() - started) / 1000),
  figures: figures.map((f) => ({ ...f, ratio: ratio(f) })),
}
mkdirSync(resolve(values.out, '..'), { recursive: true })
writeFileSync(values.out, JSON.stringify(results, null, 2) + '\n')
process.stdout.write(`\nMachine: ${machine}${quick ? ' (quick run)' : ''}\n\n${table(figures)}\n\nWritten to ${values.out}\n`)
