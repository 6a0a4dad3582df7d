// `npm run build:release -- --version V [--platforms a,b] [--out DIR] [--server URL]
// [--trust-key kid:x]… [--cache-dir DIR] [--concurrency N] [--managed-by CMD]`: single executables
// for every platform, their archives, each binary's block map and chunk pack (differential
// updates), and checksums.txt (default into release/V/). Progress on
// stderr, the summary on stdout. `--managed-by "brew upgrade cco"` makes binaries for a package
// manager: they never replace themselves and name that command instead (client/src/update/managed.ts).
import { parseArgs } from 'node:util'
import { serverProblem } from '../client/src/config/schema.ts'
import { managedByProblem } from '../client/src/update/managed.ts'
import { PublicKeySchema } from '../contract/manifest.ts'
import { isPlatform, PLATFORMS, type Platform } from '../contract/platform.ts'
import { buildRelease, mib } from './lib/release-build.ts'
import { defaultCacheDir } from './lib/sea.ts'

const USAGE =
  'usage: npm run build:release -- --version V [--platforms ' +
  PLATFORMS.join(',') +
  '] [--out DIR] [--server URL] [--trust-key kid:x]... [--cache-dir DIR] [--concurrency N] [--managed-by CMD]'

function fail(message: string, code = 2): never {
  console.error(message)
  process.exit(code)
}

let values
try {
  ;({ values } = parseArgs({
    options: {
      version: { type: 'string' },
      platforms: { type: 'string' },
      out: { type: 'string' },
      server: { type: 'string' },
      'trust-key': { type: 'string', multiple: true },
      'cache-dir': { type: 'string' },
      concurrency: { type: 'string' },
      'managed-by': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }))
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`)
}
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
if (!values.version) fail(USAGE)

const platforms: Platform[] = values.platforms
  ? values.platforms.split(',').map((p) => {
      const key = p.trim()
      if (!isPlatform(key)) fail(`unknown platform ${JSON.stringify(key)}; platforms: ${PLATFORMS.join(', ')}`)
      return key
    })
  : [...PLATFORMS]

const trustKeys = (values['trust-key'] ?? []).map((spec) => {
  const i = spec.lastIndexOf(':')
  const key = PublicKeySchema.safeParse({ kid: spec.slice(0, i), x: spec.slice(i + 1) })
  if (i <= 0 || !key.success) fail(`--trust-key must be kid:x (x = base64url Ed25519 public key), got ${JSON.stringify(spec)}`)
  return key.data
})

if (values.server !== undefined) {
  const problem = serverProblem(values.server)
  if (problem) fail(`invalid --server ${JSON.stringify(values.server)}: ${problem}`)
}

const managedBy = values['managed-by']
const managedProblem = managedBy === undefined ? null : managedByProblem(managedBy)
if (managedProblem) fail(`invalid --managed-by ${JSON.stringify(managedBy)}: ${managedProblem}`)

const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency)
if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) fail('--concurrency must be a whole number of at least 1')

const cacheDir = values['cache-dir'] ?? defaultCacheDir()
console.error(`Building cco ${values.version} for ${platforms.join(', ')} (Node.js binaries cached in ${cacheDir})`)
try {
  const r = await buildRelease({
    version: values.version,
    platforms,
    outDir: values.out,
    server: values.server,
    trustKeys,
    managedBy,
    cacheDir,
    concurrency,
    log: (line) => console.error(`  ${line}`),
  })
  const rows = r.artifacts.map((a) => [
    a.platform,
    mib(a.binaryBytes),
    mib(a.archiveBytes),
    mib(a.packBytes),
    `${(a.blockmapBytes / 1024).toFixed(0)} KiB`,
    String(a.chunks),
    `${a.injectSeconds.toFixed(1)} s`,
    `${a.packSeconds.toFixed(1)} s`,
    `${a.deltaSeconds.toFixed(1)} s`,
    a.codeCache ? 'yes' : 'no',
  ])
  const header = ['PLATFORM', 'BINARY', 'ARCHIVE', 'CHUNK PACK', 'BLOCK MAP', 'CHUNKS', 'INJECT', 'PACK', 'DELTA', 'CODE CACHE']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  for (const row of [header, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())
  console.log('')
  for (const a of r.artifacts) console.log([a.archive, a.blockmap, a.pack].join('\n'))
  console.log(r.checksums)
  const s = r.seconds
  console.log(
    `\nBuilt in ${s.total.toFixed(1)} s (node binaries ${s.nodeBinaries.toFixed(1)} s, bundle ${s.bundle.toFixed(1)} s, blobs ${s.blobs.toFixed(1)} s, ` +
      `executables and archives ${s.platforms.toFixed(1)} s)`,
  )
  if (r.artifacts.some((a) => a.platform.startsWith('darwin-'))) {
    console.error('note: the macOS binaries are unsigned after injection; re-sign them on macOS (codesign --force --sign - cco) before publishing (the release workflow does)')
  }
} catch (err) {
  fail(`build:release failed: ${(err as Error).message}`, 1)
}
