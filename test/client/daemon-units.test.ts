// Service files written by `cco daemon install` (systemd user unit, launchd agent: the right
// binary path and command), `uninstall`, and the size-based rotation of daemon.log.
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { daemonInstallCommand } from '../../client/src/commands/daemon-install.ts'
import { daemonUninstallCommand } from '../../client/src/commands/daemon-uninstall.ts'
import { openRotatingLog } from '../../client/src/system/rotating-log.ts'
import { testApp } from '../support/app-context.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'

let bundle: string
const homes: CcoHome[] = []
beforeAll(async () => {
  bundle = await clientBundle({ version: '2026.1.1' })
}, 60_000)
afterAll(() => homes.forEach((h) => h.cleanup()))

function home(): CcoHome {
  const h = makeHome('cco-units-')
  homes.push(h)
  return h
}

describe('cco daemon install', () => {
  it('writes a systemd user unit that starts the installed binary with `run` (XDG_CONFIG_HOME honoured)', async () => {
    const h = home()
    h.install(bundle)
    const xdg = join(h.home, 'xdg-config')
    const r = await runCco(h.installPath, ['daemon', 'install'], { home: h.home, env: { XDG_CONFIG_HOME: xdg } })
    expect(r.code, show(r)).toBe(0)
    const unitPath = join(xdg, 'systemd', 'user', 'cco.service')
    const unit = readFileSync(unitPath, 'utf8')
    expect(unit).toContain(`ExecStart=${h.installPath} run\n`)
    for (const line of ['Restart=always', 'RestartSec=5', 'Environment=CCO_SUPERVISED=systemd', 'KillMode=process', 'WantedBy=default.target']) {
      expect(unit.split('\n')).toContain(line)
    }
    expect(r.stdout).toContain(`Wrote ${unitPath}`)
    expect(r.stdout).toContain('systemctl --user daemon-reload && systemctl --user enable --now cco.service')

    // `systemctl enable` would add this link; uninstall removes it along with the unit.
    const wants = join(xdg, 'systemd', 'user', 'default.target.wants')
    mkdirSync(wants, { recursive: true })
    symlinkSync(unitPath, join(wants, 'cco.service'))
    const u = await runCco(h.installPath, ['daemon', 'uninstall'], { home: h.home, env: { XDG_CONFIG_HOME: xdg } })
    expect(u.code, show(u)).toBe(0)
    expect(existsSync(unitPath)).toBe(false)
    expect(lstatSync(join(wants, 'cco.service'), { throwIfNoEntry: false })).toBeUndefined()
    expect(u.stdout).toContain(`Removed ${unitPath}`)
    expect(u.stdout).toContain('systemctl --user stop cco.service')
    const again = await runCco(h.installPath, ['daemon', 'uninstall'], { home: h.home, env: { XDG_CONFIG_HOME: xdg } })
    expect(again.code, show(again)).toBe(0)
    expect(again.stdout).toContain('Nothing to remove')
  })

  it('defaults to ~/.config/systemd/user and quotes an install path with spaces', () => {
    const h = home()
    const installPath = join(h.home, 'my tools', 'cco')
    const app = testApp(h.home, { env: { CCO_INSTALL_PATH: installPath } })
    const r = daemonInstallCommand(app, { platform: 'linux' })
    expect(r.file).toBe(join(h.home, '.config', 'systemd', 'user', 'cco.service'))
    expect(readFileSync(r.file, 'utf8')).toContain(`ExecStart="${installPath}" run\n`)
    expect(r.warnings.join()).toContain('does not exist yet')
  })

  it('writes a launchd agent on macOS with the binary, run, KeepAlive and the log', () => {
    const h = home()
    const app = testApp(h.home)
    const r = daemonInstallCommand(app, { platform: 'darwin' })
    expect(r.file).toBe(join(h.home, 'Library', 'LaunchAgents', 'dev.cco.daemon.plist'))
    const plist = readFileSync(r.file, 'utf8')
    expect(plist).toContain('<key>Label</key>\n  <string>dev.cco.daemon</string>')
    expect(plist).toContain(`<key>ProgramArguments</key>\n  <array>\n    <string>${app.paths.installPath}</string>\n    <string>run</string>\n  </array>`)
    expect(plist).toContain('<key>RunAtLoad</key>\n  <true/>')
    expect(plist).toContain('<key>KeepAlive</key>\n  <true/>')
    expect(plist).toContain('<key>CCO_SUPERVISED</key>\n    <string>launchd</string>')
    expect(plist).toContain(`<key>StandardOutPath</key>\n  <string>${app.paths.daemonLog}</string>`)
    expect(plist).toContain(`<key>StandardErrorPath</key>\n  <string>${app.paths.daemonLog}</string>`)
    expect(r.enable_command).toBe(`launchctl bootstrap gui/$(id -u) ${r.file}`)
    const u = daemonUninstallCommand(app, { platform: 'darwin' })
    expect(u).toMatchObject({ removed: true, disable_command: 'launchctl bootout gui/$(id -u)/dev.cco.daemon' })
    expect(existsSync(r.file)).toBe(false)
  })

  it('refuses platforms without a supported service manager', () => {
    const app = testApp(home().home)
    expect(() => daemonInstallCommand(app, { platform: 'win32' })).toThrow(/supports systemd \(Linux\) and launchd \(macOS\), not win32/)
  })
})

describe('daemon.log rotation', () => {
  it('rotates at the size limit into .1 … .5 and drops the oldest', () => {
    const h = home()
    const path = join(h.stateDir, 'daemon.log')
    const log = openRotatingLog(path, { maxBytes: 1000, keep: 5 })
    const line = (i: number) => `[2026-11-20 10:00:00 UTC] [INFO] line ${String(i).padStart(4, '0')} ${'x'.repeat(60)}\n`
    for (let i = 0; i < 200; i++) log.write(line(i))
    log.close()
    const names = readdirSync(h.stateDir).filter((n) => n.startsWith('daemon.log')).sort()
    expect(names).toEqual(['daemon.log', 'daemon.log.1', 'daemon.log.2', 'daemon.log.3', 'daemon.log.4', 'daemon.log.5'])
    for (const n of names) expect(readFileSync(join(h.stateDir, n)).length).toBeLessThanOrEqual(1000)
    // The newest line is in the live file, the files are in order, and nothing is torn.
    expect(readFileSync(path, 'utf8').trimEnd().split('\n').at(-1)).toContain('line 0199')
    const first = (n: string) => Number(/line (\d+)/.exec(readFileSync(join(h.stateDir, n), 'utf8'))![1])
    expect(first('daemon.log.5')).toBeLessThan(first('daemon.log.4'))
    expect(first('daemon.log.1')).toBeLessThan(first('daemon.log'))
    for (const n of names) expect(readFileSync(join(h.stateDir, n), 'utf8')).toMatch(/^(\[[^\n]+\n)+$/)
  })

  it('keeps daemon.log and its rotations private (0600), also a log an older cco created 0644', () => {
    const h = home()
    const path = join(h.stateDir, 'daemon.log')
    mkdirSync(h.stateDir, { recursive: true })
    writeFileSync(path, '[2026-11-20 10:00:00 UTC] [INFO] from before\n', { mode: 0o644 })
    chmodSync(path, 0o644)
    const log = openRotatingLog(path, { maxBytes: 1000, keep: 2 })
    for (let i = 0; i < 50; i++) log.write(`[2026-11-20 10:00:00 UTC] [INFO] line ${i} ${'x'.repeat(60)}\n`)
    log.close()
    const names = readdirSync(h.stateDir).filter((n) => n.startsWith('daemon.log')).sort()
    expect(names).toEqual(['daemon.log', 'daemon.log.1', 'daemon.log.2'])
    for (const n of names) expect(statSync(join(h.stateDir, n)).mode & 0o777, n).toBe(0o600)
  })

  it('follows a file rotated by another process instead of writing into the old one', () => {
    const h = home()
    const path = join(h.stateDir, 'daemon.log')
    const a = openRotatingLog(path, { maxBytes: 10_000 })
    a.write('one\n')
    writeFileSync(`${path}.1`, readFileSync(path))
    writeFileSync(`${path}.tmp`, '')
    renameSync(`${path}.tmp`, path)
    a.write('two\n')
    a.close()
    expect(readFileSync(path, 'utf8')).toBe('two\n')
  })
})
