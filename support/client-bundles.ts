// Builds client bundles of given versions once per source state, shared by every test file of
// a run (a disk cache keyed by a hash of the client's sources), so tests install real cco
// builds without paying for esbuild in every file.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { bundleClient, type BundleClientOptions } from '../scripts/lib/bundle-client.ts'
import { REPO_ROOT } from './cco-process.ts'

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
}

let sourceHash: string | undefined
function hashSources(): string {
  if (sourceHash) return sourceHash
  const h = createHash('sha256')
  // Sources and the dependency lock: a new dependency version means a new bundle.
  const all = [
    ...files(join(REPO_ROOT, 'client/src')),
    ...files(join(REPO_ROOT, 'contract')),
    join(REPO_ROOT, 'scripts/lib/bundle-client.ts'),
    join(REPO_ROOT, 'client/package.json'),
    join(REPO_ROOT, 'package-lock.json'),
  ].sort()
  for (const f of all) h.update(relative(REPO_ROOT, f)).update('\0').update(readFileSync(f)).update('\0')
  sourceHash = h.digest('hex').slice(0, 16)
  return sourceHash
}

export type BundleSpec = Omit<BundleClientOptions, 'outfile'>

/** The path of a built bundle (executable, `#!/usr/bin/env node`). */
export async function clientBundle(spec: BundleSpec): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 12)
  const dir = join(tmpdir(), 'cco-test-bundles', hashSources())
  const file = join(dir, `cco-${spec.version}-${key}`)
  if (existsSync(file) && statSync(file).size > 0) return file
  mkdirSync(dir, { recursive: true })
  // Parallel test files may build the same bundle: build aside, then rename (atomic).
  const tmp = `${file}.${process.pid}.${Math.random().toString(16).slice(2)}`
  try {
    await bundleClient({ ...spec, outfile: tmp })
    renameSync(tmp, file)
  } finally {
    rmSync(tmp, { force: true })
  }
  return file
}
