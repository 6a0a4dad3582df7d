// Test builds for the daemon's health gate: a normal bundle of a version with the build-time
// constant `__CCO_TEST_HEALTH_STATUS__` (client/src/daemon/test-build.ts) fixed, so that the
// binary starts, listens and answers `/health` with that status, never "ok". Only a test build
// can do this: release builds leave the constant undefined.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { clientBundle, type BundleSpec } from '../../support/client-bundles.ts'

const CONSTANT = '__CCO_TEST_HEALTH_STATUS__'

/** A bundle of `spec.version` whose `/health` always answers `status` (e.g. 503). */
export async function unhealthyBundle(spec: BundleSpec, status = 503): Promise<string> {
  const normal = await clientBundle(spec)
  const file = `${normal}-health-${status}`
  if (existsSync(file)) return file
  const text = readFileSync(normal, 'utf8')
  const uses = text.split(CONSTANT).length - 1
  if (uses === 0) throw new Error(`${normal} does not mention ${CONSTANT}: cannot make a test build`)
  const tmp = `${file}.${process.pid}`
  writeFileSync(tmp, text.replaceAll(CONSTANT, `(${status})`))
  chmodSync(tmp, 0o755)
  renameSync(tmp, file)
  return file
}
