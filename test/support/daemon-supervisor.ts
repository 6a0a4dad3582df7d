// A stand-in for systemd's `Restart=always` (there is no service manager in the test machine):
// runs `<binary> run` with CCO_SUPERVISED set and starts it again a moment after it exits,
// without touching the processes it leaves behind (like `KillMode=process`).
import type { ChildProcess } from 'node:child_process'
import { spawnCco } from '../../support/cco-process.ts'

export interface TestSupervisor {
  /** Pids of every daemon process started so far. */
  pids: number[]
  /** Output of all of them (for failure messages). */
  output(): string
  stop(): Promise<void>
}

export function supervise(binary: string, o: { home: string; env?: Record<string, string>; restartDelayMs?: number }): TestSupervisor {
  const pids: number[] = []
  let out = ''
  let child: ChildProcess | null = null
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  const start = () => {
    if (stopped) return
    const c = spawnCco(binary, ['run'], { home: o.home, env: { CCO_SUPERVISED: 'test-supervisor', ...o.env } })
    child = c
    if (c.pid) pids.push(c.pid)
    c.stdin!.end()
    c.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    c.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
    c.on('exit', (code, signal) => {
      out += `[supervisor] pid ${c.pid} exited (${signal ?? code})\n`
      child = null
      if (!stopped) timer = setTimeout(start, o.restartDelayMs ?? 1_000)
    })
  }
  start()
  return {
    pids,
    output: () => out,
    async stop() {
      stopped = true
      clearTimeout(timer)
      const c = child
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((r) => c.once('exit', () => r()))
        c.kill('SIGTERM')
        const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
        await exited
        clearTimeout(t)
      }
    },
  }
}
