// Runs cco as a real child process (a bundle or the source entry) with a clean environment:
// a temporary HOME, Node 22 first on PATH, and nothing inherited that could change behaviour
// (proxies, XDG dirs, NO_COLOR).
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'

export const NODE_DIR = dirname(process.execPath)
export const REPO_ROOT = resolve(import.meta.dirname, '..')
export const SOURCE_ENTRY = join(REPO_ROOT, 'client/src/cli.ts')

export interface CcoRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  home: string
  env?: Record<string, string | undefined>
  /** Written to stdin, then stdin is closed (default: closed at once, i.e. end of input). */
  input?: string
  timeoutMs?: number
  cwd?: string
  /** Run as another user (tests that need permissions to bite while running as root). */
  uid?: number
  gid?: number
}

/** The environment every test child gets: only what cco legitimately reads. */
export function childEnv(home: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: `${NODE_DIR}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: process.env.TMPDIR,
    ...extra,
  }
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined))
}

/** Starts `bin args…`; `bin` is an executable (a bundle with its shebang) or SOURCE_ENTRY. */
export function spawnCco(bin: string, args: string[], options: RunOptions): ChildProcess {
  const [cmd, argv] = bin.endsWith('.ts') ? [process.execPath, [bin, ...args]] : [bin, args]
  return spawn(cmd, argv, {
    env: childEnv(options.home, options.env),
    cwd: options.cwd ?? options.home,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
  })
}

export function collect(child: ChildProcess, options: Pick<RunOptions, 'input' | 'timeoutMs'> = {}): Promise<CcoRun> {
  return new Promise((resolvePromise, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`cco did not finish within ${options.timeoutMs ?? 30_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
    child.stdin!.on('error', () => {})
    child.stdin!.end(options.input ?? '')
  })
}

export function runCco(bin: string, args: string[], options: RunOptions): Promise<CcoRun> {
  return collect(spawnCco(bin, args, options), options)
}

/** For assertion messages. */
export function show(run: CcoRun): string {
  return `exit ${run.code}${run.signal ? ` (${run.signal})` : ''}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`
}
