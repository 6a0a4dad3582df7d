// `cco run` in the foreground, as the administrator guide uses it for debugging: with --debug
// its lines also go to daemon.log (so `cco daemon logs` and `| grep -i update` show them), and a
// port already held by a cco daemon is explained (which pid and port, what to do) instead of a
// bare "address in use". Real processes: bundles in temporary HOMEs.
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { collect, show, spawnCco } from '../../support/cco-process.ts'
import { freePort } from '../../support/ports.ts'
import { daemonHostsOf, waitFor } from '../support/daemon-host.ts'

const VERSION = '2026.4.2'
const { host } = daemonHostsOf(VERSION)

describe.concurrent('cco run in the foreground', () => {
  it('with --debug writes its lines to daemon.log too, where cco daemon logs finds the update lines', async () => {
    // Checks every 2 s against a closed port: update lines, debug lines, warnings.
    const h = await host({ config: { server: `http://127.0.0.1:${await freePort()}`, interval: '2s' } })
    const child = spawnCco(h.installPath, ['run', '--debug'], { home: h.home })
    h.track(child.pid)
    const done = collect(child, { timeoutMs: 60_000 })
    let out = ''
    child.stdout!.on('data', (d: string) => (out += d))
    await waitFor('a failed check on stdout', () => out.includes('Update check failed'), 30_000)

    const logs = await h.cco(['daemon', 'logs', '-n', '200'])
    expect(logs.code, show(logs)).toBe(0)
    expect(logs.stdout).toMatch(/\[INFO\] cco daemon 2026\.4\.2 listening on 127\.0\.0\.1:\d+ \(pid \d+\)/)
    expect(logs.stdout).toMatch(/\[DEBUG\] binary .* install path .*, log stdout and .*daemon\.log/)
    const updateLines = logs.stdout.split('\n').filter((l) => /update/i.test(l))
    expect(updateLines.some((l) => l.endsWith('[INFO] Starting update check'))).toBe(true)
    expect(updateLines.some((l) => l.includes('[WARN] Update check failed'))).toBe(true)
    // The same lines as on stdout: daemon.log is a copy, not another story.
    const firstLine = logs.stdout.split('\n')[0]!
    expect(out.split('\n')).toContain(firstLine)

    child.kill('SIGTERM')
    const r = await done
    expect(r.code, show(r)).toBe(0)
    expect(h.log()).toMatch(/\[INFO\] Received SIGTERM; cco daemon 2026\.4\.2 \(pid \d+\) stopped\n$/)
  }, 90_000)

  it('without --debug keeps to stdout', async () => {
    const h = await host()
    const child = spawnCco(h.installPath, ['run'], { home: h.home })
    h.track(child.pid)
    const done = collect(child, { timeoutMs: 30_000 })
    let out = ''
    child.stdout!.on('data', (d: string) => (out += d))
    await waitFor('the start line', () => out.includes('listening on'))
    child.kill('SIGTERM')
    expect((await done).code).toBe(0)
    expect(existsSync(h.logFile)).toBe(false)
  })

  it('says which daemon holds the port and what to do, for its own daemon and for one it has no pid file of', async () => {
    const first = await host()
    expect((await first.cco(['daemon', 'start'])).code).toBe(0)
    const pid = first.pidRecord()!.pid

    // Its own daemon (the pid file names it): stop it first.
    const again = await first.cco(['run'])
    expect(again.code, show(again)).toBe(1)
    expect(again.stderr).toBe(`cco daemon is already running (pid ${pid}, port ${first.port}); stop it first with \`cco daemon stop\` (one daemon runs per user; \`cco daemon logs --follow\` shows what it does)\n`)

    // Another HOME on the same port: no pid file names that daemon, /health does.
    const second = await host({ port: first.port })
    const r = await second.cco(['run', '--debug'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toBe(
      `port ${first.port} on 127.0.0.1 is held by another cco daemon (pid ${pid}, version ${VERSION}) that your pid file does not name (another user's, or one with another state directory): ` +
        'stop that one first, or choose another port with `cco config set daemon.port N` or `cco run --port N`\n',
    )
    expect(r.stderr).not.toMatch(/EADDRINUSE/)
    // Refused before anything was written.
    expect(existsSync(second.pidFile)).toBe(false)
    expect(existsSync(second.logFile)).toBe(false)
  })
})
