// `node scripts/write-delta-assets.ts --archive DIR/cco-V-P.tar.gz --binary PATH`: writes the
// block map and chunk pack of `binary` beside its release archive, replacing any there. The
// release workflow runs it after re-signing the macOS binaries, which changes their bytes
// after `npm run build:release` made their delta assets. Version and platform come from the
// archive's canonical name.
import { basename, dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { canonicalAssetName, PLATFORMS } from '../contract/platform.ts'
import { isVersion } from '../contract/version.ts'
import { writeDeltaAssets } from './lib/blockmap-build.ts'

const USAGE = 'usage: node scripts/write-delta-assets.ts --archive DIR/cco-VERSION-PLATFORM.tar.gz --binary PATH'

function fail(message: string, code = 2): never {
  console.error(message)
  process.exit(code)
}

let values
try {
  ;({ values } = parseArgs({ options: { archive: { type: 'string' }, binary: { type: 'string' } }, strict: true }))
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`)
}
if (!values.archive || !values.binary) fail(USAGE)

const archive = resolve(values.archive)
const name = basename(archive)
const platform = PLATFORMS.find((p) => name.endsWith(`-${p}.tar.gz`) || name.endsWith(`-${p}.zip`))
const version = platform && name.startsWith('cco-') ? name.slice('cco-'.length, name.lastIndexOf(`-${platform}.`)) : ''
if (!platform || !isVersion(version) || canonicalAssetName(version, platform) !== name) fail(`not a release archive name: ${JSON.stringify(name)} (cco-VERSION-PLATFORM.tar.gz or .zip)`)

try {
  const r = await writeDeltaAssets({ binary: resolve(values.binary), archiveName: name, outDir: dirname(archive), version, platform })
  console.log(`${r.blockmap}: ${r.map.chunks.length} chunks of a ${r.map.binary.size}-byte binary\n${r.pack}: ${r.map.pack.size} bytes`)
} catch (err) {
  fail(`write-delta-assets failed: ${(err as Error).message}`, 1)
}
