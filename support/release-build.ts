// Runs the release build (`scripts/build-release.ts`, what `npm run build:release --` runs
// after its Node version guard) as a child process, for tests that need real single
// executables: the broker URL and trust keys they embed are passed as its flags.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { REPO_ROOT } from './cco-process.ts'

export interface BuildRun {
  code: number | null
  stdout: string
  stderr: string
  seconds: number
}

export function runReleaseBuild(args: string[]): Promise<BuildRun> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts/build-release.ts'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }))
  })
}

/** Throws with the build's output when it failed (most often: the npm registry was unreachable on a first run). */
export function mustSucceed(what: string, r: BuildRun): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}) after ${r.seconds.toFixed(0)} s:\n${r.stderr}\n${r.stdout}`)
}
