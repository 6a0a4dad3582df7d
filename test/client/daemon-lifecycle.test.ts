// `cco daemon start|stop|restart|status|logs`, `cco run`, `cco health` and `/health` with real
// processes: a bundle installed in a temporary HOME, a free port per daemon, no broker (the
// schedule is `never`), and the administrator guide's health-check script on port 3000.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { childEnv, collect, show, spawnCco, REPO_ROOT } from '../../support/cco-process.ts'
import { daemonHostsOf, getHealth, isAlive, waitFor } from '../support/daemon-host.ts'
import { freePort } from '../../support/ports.ts'

const VERSION = '2026.1.1'
const START_LINE = new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\] \\[INFO\\] cco daemon ${VERSION.replace(/\./g, '\\.')} listening on 127\\.0\\.0\\.1:(\\d+) \\(pid (\\d+)\\)$`, 'm')

const { host } = daemonHostsOf(VERSION)

describe.concurrent('cco daemon start / status / logs / stop', () => {
  it('starts, answers /health, reports Running: true, logs its start line, stops, then status exits 3', async () => {
    const h = await host()
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    const pid = h.pidRecord()!.pid
    expect(start.stdout).toBe(`✅ cco daemon started (pid ${pid}, port ${h.port})\n`)
    expect(isAlive(pid)).toBe(true)
    expect(h.pidRecord()).toMatchObject({ pid, port: h.port, host: '127.0.0.1', version: VERSION, binary: h.installPath })

    const health = await getHealth(h.port)
    expect(health?.code).toBe(200)
    expect(health?.raw).toMatch(
      new RegExp(`^\\{"status":"ok","version":"${VERSION}","uptime_seconds":\\d+,"channel":"stable","last_check":null,"update_available":false,"latest_version":null,"pid":${pid}\\}\\n$`),
    )

    const status = await h.cco(['daemon', 'status'])
    expect(status.code, show(status)).toBe(0)
    expect(status.stdout).toMatch(new RegExp(`^Running: true\nPID: ${pid}\nPort: ${h.port}\nVersion: ${VERSION}\nUptime: \\d+s\n`))
    const json = await h.cco(['daemon', 'status', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ running: true, pid, port: h.port, version: VERSION, healthy: true })

    const logs = await h.cco(['daemon', 'logs'])
    expect(logs.code, show(logs)).toBe(0)
    expect(logs.stdout).toMatch(START_LINE)
    expect(START_LINE.exec(logs.stdout)!.slice(1)).toEqual([String(h.port), String(pid)])
    const one = await h.cco(['daemon', 'logs', '-n', '1'])
    expect(one.stdout.split('\n')).toHaveLength(2)

    const cli = await h.cco(['health'])
    expect(cli.code, show(cli)).toBe(0)
    const [first, second] = cli.stdout.split('\n')
    expect(first).toBe('✅ healthy')
    expect(JSON.parse(second!)).toMatchObject({ status: 'ok', version: VERSION, pid })

    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(stop.stdout).toBe(`Stopped cco daemon (pid ${pid})\n`)
    expect(isAlive(pid)).toBe(false)
    expect(existsSync(h.pidFile)).toBe(false)
    expect(h.log()).toMatch(/\[INFO\] Received SIGTERM; cco daemon 2026\.1\.1 \(pid \d+\) stopped\n$/)

    const after = await h.cco(['daemon', 'status'])
    expect(after.code, show(after)).toBe(3)
    expect(after.stdout).toBe('Running: false\n')
    expect(after.stderr).toContain('cco daemon is not running')
    const notHealthy = await h.cco(['health'])
    expect(notHealthy.code, show(notHealthy)).toBe(3)
    expect(notHealthy.stderr).toMatch(/^❌ cco daemon is not healthy: nothing listens on http:\/\/127\.0\.0\.1:\d+\/health\n$/)
    // Stopping again is not an error.
    const again = await h.cco(['daemon', 'stop'])
    expect(again.code, show(again)).toBe(0)
    expect(again.stdout).toBe('cco daemon is not running\n')
  })

  it('restart gives a new pid on the same port', async () => {
    const h = await host()
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const before = h.pidRecord()!.pid
    const r = await h.cco(['daemon', 'restart'])
    expect(r.code, show(r)).toBe(0)
    const after = h.pidRecord()!.pid
    expect(after).not.toBe(before)
    expect(isAlive(before)).toBe(false)
    expect(r.stdout).toBe(`Stopped cco daemon (pid ${before})\n✅ cco daemon started (pid ${after}, port ${h.port})\n`)
    expect((await getHealth(h.port))?.body.pid).toBe(after)
  })

  it('refuses to start twice, naming the running pid and port', async () => {
    const h = await host()
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pid = h.pidRecord()!.pid
    const r = await h.cco(['daemon', 'start'])
    expect(r.code, show(r)).toBe(1)
    expect(r.stderr).toBe(`cco daemon is already running (pid ${pid}, port ${h.port})\n`)
    const fg = await h.cco(['run'])
    expect(fg.code, show(fg)).toBe(1)
    expect(fg.stderr).toContain(`cco daemon is already running (pid ${pid}, port ${h.port})`)
    expect(h.pidRecord()!.pid).toBe(pid)
  })

  it('cleans a stale pid file: a dead pid, and a live pid that is not cco', async () => {
    const h = await host()
    mkdirSync(h.stateDir, { recursive: true })
    const dead = spawnSync(process.execPath, ['-e', 'process.pid'], {}).pid!
    const record = (pid: number) => JSON.stringify({ pid, port: h.port, host: '127.0.0.1', version: VERSION, started_at: '2026-11-20T10:00:00Z', binary: h.installPath })
    writeFileSync(h.pidFile, record(dead))
    const s1 = await h.cco(['daemon', 'status'])
    expect(s1.code, show(s1)).toBe(3)
    expect(s1.stderr).toContain(`removed a stale pid file (pid ${dead} is not running)`)
    expect(existsSync(h.pidFile)).toBe(false)

    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      writeFileSync(h.pidFile, record(sleeper.pid!))
      const s2 = await h.cco(['daemon', 'status'])
      expect(s2.code, show(s2)).toBe(3)
      expect(s2.stderr).toContain(`pid ${sleeper.pid} is now another program`)
      expect(existsSync(h.pidFile)).toBe(false)
      // start after a stale file works, and says what it cleaned.
      writeFileSync(h.pidFile, record(sleeper.pid!))
      const start = await h.cco(['daemon', 'start'])
      expect(start.code, show(start)).toBe(0)
      expect(start.stderr).toContain('removed a stale pid file')
      expect(isAlive(sleeper.pid!)).toBe(true)
    } finally {
      sleeper.kill()
    }
  })

  it('keeps a proxy password out of daemon.log, which only its owner can read', async () => {
    const h = await host()
    expect((await h.cco(['daemon', 'start'])).code).toBe(0)
    const pid = h.pidRecord()!.pid
    writeFileSync(h.configFile, `${readFileSync(h.configFile, 'utf8')}\n[network]\nproxy = "socks5://alice:s3cret@proxy.corp:1080"\n`)
    process.kill(pid, 'SIGHUP')
    const line = await h.waitForLog(/Keeping the previous settings: .*network\.proxy.*/)
    expect(line).toContain('socks5://***@proxy.corp:1080')
    expect(h.log()).not.toContain('s3cret')
    expect(statSync(h.logFile).mode & 0o777).toBe(0o600)
    const stop = await h.cco(['daemon', 'stop'])
    expect(stop.code, show(stop)).toBe(0)
    expect(isAlive(pid)).toBe(false)
  })

  it('refuses a busy port clearly, in the background and in the foreground', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    try {
      const h = await host({ port })
      const r = await h.cco(['daemon', 'start'])
      expect(r.code, show(r)).toBe(1)
      const message = `port ${port} is already in use on 127.0.0.1 (is another cco daemon running? \`cco daemon status\`); choose another with \`cco config set daemon.port N\` or \`cco run --port N\``
      expect(r.stderr).toContain('❌ cco daemon did not start: it exited (status 1)')
      expect(r.stderr).toContain(message)
      expect(existsSync(h.pidFile)).toBe(false)
      const fg = await h.cco(['run'])
      expect(fg.code, show(fg)).toBe(1)
      expect(fg.stderr).toBe(`${message}\n`)
      // --port picks another one for this run (a free one: a neighbour of the busy port may
      // be taken too, and the start must succeed for the test to mean anything).
      const otherPort = await freePort()
      const other = await h.cco(['daemon', 'start', '--port', String(otherPort)])
      expect(other.code, show(other)).toBe(0)
      const pid = h.pidRecord()!.pid
      expect(h.pidRecord()).toMatchObject({ pid, port: otherPort })
      expect((await getHealth(otherPort))?.body.pid).toBe(pid)
      const stop = await h.cco(['daemon', 'stop'])
      expect(stop.code, show(stop)).toBe(0)
      expect(isAlive(pid)).toBe(false)
    } finally {
      blocker.close()
    }
  })
})

describe('cco run (foreground)', () => {
  it('logs to stdout, writes and removes its pid file, re-reads the config on SIGHUP and exits 0 on SIGTERM', async () => {
    const h = await host()
    const child = spawnCco(h.installPath, ['run'], { home: h.home })
    h.track(child.pid)
    const done = collect(child, { timeoutMs: 30_000 })
    let out = ''
    child.stdout!.on('data', (d: string) => (out += d))
    await waitFor('the start line', () => START_LINE.test(out))
    expect(h.pidRecord()).toMatchObject({ pid: child.pid, port: h.port })
    // The scheduler's first line follows the start line, possibly in a later write.
    await waitFor('the scheduler line', () => out.includes('Scheduled update checks are off (updates.check_interval = never)'))

    h.config({ interval: 'weekly' })
    child.kill('SIGHUP')
    await waitFor('the reload line', () => out.includes('Configuration changed: Checking for updates weekly'))

    for (const [method, path, code] of [['GET', '/nope', 404], ['POST', '/health', 405], ['HEAD', '/health', 200]] as const) {
      const res = await fetch(`http://127.0.0.1:${h.port}${path}`, { method })
      expect(res.status).toBe(code)
      if (method === 'HEAD') expect(await res.text()).toBe('')
      else expect(JSON.parse(await res.text())).toHaveProperty('error')
    }

    child.kill('SIGTERM')
    const r = await done
    expect(r.code, show(r)).toBe(0)
    expect(existsSync(h.pidFile)).toBe(false)
    expect(r.stdout).toMatch(/\[INFO\] Received SIGTERM; cco daemon 2026\.1\.1 \(pid \d+\) stopped\n$/)
    expect(existsSync(h.logFile)).toBe(false)
  })

  it('refuses a non-loopback daemon.host (exit 2)', async () => {
    const h = await host({ config: { host: '0.0.0.0' } })
    const r = await h.cco(['run'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toMatch(/daemon\.host: must be a loopback address/)
  })
})

describe('cco daemon logs --follow', () => {
  it('prints the last lines, then new ones, and keeps following across rotation', async () => {
    const h = await host()
    mkdirSync(h.stateDir, { recursive: true })
    writeFileSync(h.logFile, 'old 1\nold 2\nold 3\n')
    const child = spawnCco(h.installPath, ['daemon', 'logs', '-n', '2', '--follow'], { home: h.home })
    h.track(child.pid)
    const done = collect(child, { timeoutMs: 30_000 })
    let out = ''
    child.stdout!.on('data', (d: string) => (out += d))
    await waitFor('the last two lines', () => out === 'old 2\nold 3\n')
    writeFileSync(h.logFile, 'new 4\n', { flag: 'a' })
    await waitFor('an appended line', () => out.endsWith('new 4\n'))
    // Rotation as the daemon does it: a line lands in the old file just before the rename.
    writeFileSync(h.logFile, 'last before rotation\n', { flag: 'a' })
    renameSync(h.logFile, `${h.logFile}.1`)
    writeFileSync(h.logFile, 'first after rotation\n')
    await waitFor('lines across rotation', () => out.endsWith('first after rotation\n'))
    expect(out).toBe('old 2\nold 3\nnew 4\nlast before rotation\nfirst after rotation\n')
    child.kill('SIGINT')
    const r = await done
    expect(r.code, show(r)).toBe(0)
  })
})

describe('the administrator guide', () => {
  const script = join(REPO_ROOT, 'test/fixtures/admin-guide/health-check.sh')

  it('has its health-check script exactly as the guide prints it', () => {
    expect(readFileSync(script, 'utf8')).toBe(
      [
        '#!/bin/sh',
        '# CCO administrator guide: daemon health check',
        `if curl -fsS http://localhost:3000/health | grep -q '"status":"ok"'; then`,
        '  echo "✅ CCO daemon is healthy"',
        'else',
        '  echo "❌ CCO daemon is not responding"',
        '  exit 1',
        'fi',
        '',
      ].join('\n'),
    )
  })

  it('health-check script runs unchanged against a daemon on the default port 3000', async (ctx) => {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer()
      s.once('error', () => resolve(false))
      s.listen(3000, '127.0.0.1', () => s.close(() => resolve(true)))
    })
    if (!free) {
      ctx.skip(true, 'port 3000 is in use on this machine; the health-check script needs the default port')
      return
    }
    const h = await host({ port: 3000, config: { defaultPort: true } })
    expect(readFileSync(h.configFile, 'utf8')).not.toContain('port')
    const down = spawnSync('sh', [script], { encoding: 'utf8', env: childEnv(h.home) })
    expect(down.status).toBe(1)
    expect(down.stdout).toBe('❌ CCO daemon is not responding\n')
    const start = await h.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    expect(start.stdout).toContain('port 3000)')
    const up = spawnSync('sh', [script], { encoding: 'utf8', env: childEnv(h.home) })
    expect(up.status, up.stderr).toBe(0)
    expect(up.stdout).toBe('✅ CCO daemon is healthy\n')
    expect((await h.cco(['daemon', 'stop'])).code).toBe(0)
  })
})
