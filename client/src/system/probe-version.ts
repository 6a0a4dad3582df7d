// Runs `<binary> --version` with a timeout and reads `cco <version>` from it: the self-test
// every new, installed or restored binary has to pass.
import { execFile } from 'node:child_process'
import type { Env } from './env.ts'

export const PROBE_TIMEOUT_MS = 15_000

export type ProbeResult = { ok: true; version: string } | { ok: false; problem: string }

export function probeVersion(binary: string, env: Env, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(
      binary,
      ['--version'],
      { env: { ...env }, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true },
      (err, stdout) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: number | string | null }
          if (e.killed || e.signal === 'SIGKILL') return resolve({ ok: false, problem: `\`${binary} --version\` did not finish within ${timeoutMs / 1000} s` })
          if (typeof e.code === 'number') return resolve({ ok: false, problem: `\`${binary} --version\` exited with status ${e.code}` })
          if (e.signal) return resolve({ ok: false, problem: `\`${binary} --version\` was killed by ${e.signal}` })
          return resolve({ ok: false, problem: `cannot run ${binary}: ${e.code ?? e.message}` })
        }
        const m = /^cco (\S+)\s*$/.exec(String(stdout).trim())
        if (!m) return resolve({ ok: false, problem: `\`${binary} --version\` printed ${JSON.stringify(String(stdout).trim().slice(0, 80))}, not "cco <version>"` })
        resolve({ ok: true, version: m[1]! })
      },
    )
  })
}
