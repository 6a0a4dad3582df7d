// "Does this binary report version X": `<binary> --version` (system/probe-version.ts) compared
// with sameVersion, the one check for a new, an installed, a restored or a backup binary.
import { sameVersion } from '../../../contract/version.ts'
import type { Env } from '../system/env.ts'
import { probeVersion } from '../system/probe-version.ts'

export type BinaryProbe =
  /** It runs and reports the expected version (any version when none was expected). */
  | { kind: 'reports'; version: string }
  /** It runs and reports another version. */
  | { kind: 'other'; version: string }
  /** It does not run, or does not print `cco <version>`. */
  | { kind: 'fails'; problem: string }

export async function probeBinary(binary: string, env: Env, expected: string | null): Promise<BinaryProbe> {
  const probe = await probeVersion(binary, env)
  if (!probe.ok) return { kind: 'fails', problem: probe.problem }
  const matches = expected === null || sameVersion(probe.version, expected)
  return { kind: matches ? 'reports' : 'other', version: probe.version }
}
