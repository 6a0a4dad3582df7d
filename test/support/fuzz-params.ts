// How many runs each fuzz property makes, and with which seed: small and random in `npm test`
// (FUZZ_RUNS unset), large and reproducible under `npm run fuzz` (FUZZ_RUNS, FUZZ_SEED).
// A failing property prints its seed and counterexample path; rerun it with
// `FUZZ_SEED=<seed> npx vitest run --project node test/client/fuzz-…`.
import type { Parameters } from 'fast-check'

const DEFAULT_RUNS = 200

function envInt(name: string): number | undefined {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`)
  return n
}

export const FUZZ_RUNS = Math.max(1, envInt('FUZZ_RUNS') ?? DEFAULT_RUNS)
export const FUZZ_SEED = envInt('FUZZ_SEED')

/**
 * fast-check parameters for one property. `weight` scales the run count for properties whose
 * single run is expensive (real files, child processes), so each stays near 2 s by default.
 */
export function fuzzParams<T>(weight = 1): Parameters<T> {
  return {
    numRuns: Math.max(1, Math.round(FUZZ_RUNS * weight)),
    ...(FUZZ_SEED !== undefined ? { seed: FUZZ_SEED } : {}),
  }
}

/** Per-test timeout: the vitest default for short runs, proportional for long ones. */
export function fuzzTimeout(msPerRun: number, weight = 1): number {
  return Math.max(30_000, Math.ceil(FUZZ_RUNS * weight * msPerRun * 3))
}
