// `npm run bench`: every figure next to a baseline measured in the same run, printed as a
// table and written to bench/results.json. Not part of `npm test`: numbers are measured here,
// never asserted in tests.
//   npm run bench [-- --quick] [--only manifest,update,startup,daemon,fleet,differential] [--bundle | --binary PATH] [--readme] [--compare OLD.json]
// --readme replaces the table between the bench markers in README.md with this run's;
// --compare prints this run next to an earlier results file (scripts/bench/compare.ts).
// Figures with a target (issue 14's table, or set by their module) show met / NOT met, and the
// run ends with how many were met and which were not.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { safeText } from '../client/src/system/terminal-text.ts'
import { clientBundle } from '../support/client-bundles.ts'
import { compareResults, loadResults, parseResults } from './bench/compare.ts'
import { ratio, readmeWithTable, table, targetMet, targetSummary, withTargets, type Figure } from './bench/figures.ts'
import { benchManifest } from './bench/manifest.ts'
import { benchFleet } from './bench/fleet.ts'
import { benchDaemonIdle, benchStartup } from './bench/processes.ts'
import { benchUpdate } from './bench/update.ts'
import { buildRelease } from './lib/release-build.ts'
import { defaultCacheDir, hostPlatform } from './lib/sea.ts'

const ROOT = resolve(import.meta.dirname, '..')
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    binary: { type: 'string' },
    bundle: { type: 'boolean', default: false },
    readme: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'results.json') },
    compare: { type: 'string' },
  },
})
// Read the old results first: a wrong path should not cost a whole run.
const previous = values.compare ? loadResults(resolve(values.compare)) : undefined
const quick = values.quick
const only = new Set((values.only ?? 'manifest,update,startup,daemon,fleet,differential').split(','))
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

const figures: Figure[] = []
const started = Date.now()

// The client measured: the single executable for this platform, built here like a release
// (or the one given with --binary), else with --bundle the one-file bundle run by node.
let binary: string
let label: string
if (values.binary) {
  binary = resolve(values.binary)
  label = 'single executable'
} else if (values.bundle || !(only.has('startup') || only.has('daemon') || only.has('update'))) {
  binary = await clientBundle({ version: '2026.11.3' })
  label = 'bundle run by node'
} else {
  const platform = hostPlatform()
  if (!platform) throw new Error('no single executable for this platform: use --bundle')
  const out = mkdtempSync(join(tmpdir(), 'cco-bench-sea-'))
  process.once('exit', () => rmSync(out, { recursive: true, force: true }))
  log(`building the ${platform} single executable (npm run build:release -- --platforms ${platform})`)
  const build = await buildRelease({ version: '2026.11.3', platforms: [platform], outDir: out, cacheDir: defaultCacheDir() })
  const artifact = build.artifacts[0]!
  execFileSync('tar', ['xzf', artifact.archive, '-C', out])
  binary = join(out, 'cco')
  label = 'single executable'
  figures.push(
    { name: `single executable (${platform})`, value: artifact.binaryBytes / 2 ** 20, unit: 'MiB', baseline: { name: 'the Node 22 binary inside it', value: statSync(process.execPath).size / 2 ** 20 }, better: 'lower' },
    { name: `release archive (${platform}, .tar.gz)`, value: artifact.archiveBytes / 2 ** 20, unit: 'MiB', baseline: { name: 'the binary', value: artifact.binaryBytes / 2 ** 20 }, better: 'lower' },
    { name: `release build, one platform (bundle + blob + inject + pack)`, value: build.seconds.total, unit: 's', baseline: { name: 'its injection step', value: artifact.injectSeconds }, better: 'lower' },
  )
}
// One part that throws (a load run above its error threshold, a server that would not start)
// costs its own figures only: the others are still printed and written, the failure is named
// at the end and in results.json, and the run exits 1 (and leaves the README table alone).
const failures: { part: string; error: string }[] = []
async function part(name: string, measure: () => Figure[] | Promise<Figure[]>): Promise<void> {
  if (!only.has(name)) return
  try {
    figures.push(...(await measure()))
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e)
    log(`${name} failed, its figures are missing: ${safeText(error)}`)
    failures.push({ part: name, error: e instanceof Error ? e.message : String(e) })
  }
}
await part('manifest', () => benchManifest({ duration: quick ? 3 : 10, connections: 20, webhookSamples: quick ? 3 : 10, pairRounds: quick ? 1 : 3 }, log))
// The update also by the single executable replacing itself, when one is measured.
const sea = label === 'single executable' ? { path: binary, version: execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim().replace(/^cco /, '') } : undefined
await part('update', () => benchUpdate({ mib: 40, runs: quick ? 1 : 3, sea }, log))
await part('startup', () => benchStartup({ binary, label, runs: quick ? 5 : 20 }))
await part('daemon', () => benchDaemonIdle({ binary, label, seconds: quick ? 10 : 60 }, log))
await part('fleet', () => benchFleet({ hosts: quick ? 2000 : 10_000, concurrency: 20, viewSamples: quick ? 5 : 20 }, log))
await part('differential', async () => (await import('./bench/differential.ts')).benchDifferential({ runs: quick ? 1 : 3 }, log))

const measured = withTargets(figures)
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`
const results = {
  at: new Date().toISOString(),
  machine,
  quick,
  seconds: Math.round((Date.now() - started) / 1000),
  figures: measured.map((f) => ({ ...f, ratio: ratio(f), targetMet: targetMet(f) })),
  failed: failures,
}
mkdirSync(resolve(values.out, '..'), { recursive: true })
writeFileSync(values.out, JSON.stringify(results, null, 2) + '\n')
process.stdout.write(`\nMachine: ${machine}${quick ? ' (quick run)' : ''}\n\n${table(measured)}\n\nWritten to ${values.out}\n`)
if (previous) process.stdout.write(`\nCompared with ${values.compare}:\n${compareResults(previous, parseResults(JSON.stringify(results), values.out))}\n`)
if (values.readme && failures.length > 0) {
  process.stdout.write(`README.md not updated: ${failures.map((f) => f.part).join(', ')} failed, the table would be partial\n`)
} else if (values.readme) {
  const readme = join(ROOT, 'README.md')
  const heading = `Measured ${results.at.slice(0, 10)} on ${machine}${quick ? ' (quick run)' : ''}:`
  writeFileSync(readme, readmeWithTable(readFileSync(readme, 'utf8'), heading, measured))
  process.stdout.write('README.md updated\n')
}
process.stdout.write(`\n${targetSummary(measured)}\n`)
for (const f of failures) process.stdout.write(`FAILED: ${f.part}: ${safeText(f.error)}\n`)
if (failures.length > 0) process.exitCode = 1
