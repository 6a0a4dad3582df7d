// A package-managed build (`--managed-by "brew upgrade cco"` at build time), run as a real
// bundle: `cco update` checks but never touches its file, and names the package manager's
// upgrade instead; `--check` still reports a newer version; `cco version` says so; the daemon
// with auto_install on checks and does not install. A build without the flag still updates.
import { existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { daemonHost, type DaemonHost } from '../support/daemon-host.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const UPGRADE = 'brew upgrade cco'

let fx: UpdateFixture
let managedPath: string
let managedA: Buffer
const daemons: DaemonHost[] = []

beforeAll(async () => {
  fx = await startUpdateFixture()
  managedPath = await clientBundle({ version: VERSION_A, managedBy: UPGRADE })
  managedA = readFileSync(managedPath)
  await fx.publish({ version: VERSION_B })
}, 60_000)

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.teardown()))
  await fx?.close()
}, 30_000)

const downloads = () => fx.server.requests.filter((r) => r.path.startsWith('/download/')).length

describe('a package-managed build', () => {
  it('leaves its binary byte for byte untouched on cco update --yes and names the upgrade command (exit 1)', async () => {
    const h = fx.host({ installed: managedA })
    const before = downloads()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(1)
    // It checked: the newer version is reported before the refusal.
    expect(r.stdout).toContain(`ℹ️  New version available: ${VERSION_B}\n`)
    expect(r.stderr).toContain(`Not installing ${VERSION_B}: cco was installed by a package manager and does not replace itself; upgrade it with: ${UPGRADE}`)
    expect(r.stdout).not.toContain('Successfully updated')
    expect(readFileSync(h.installPath).equals(managedA)).toBe(true)
    expect(existsSync(h.backupPath)).toBe(false)
    expect(tempDirs(h)).toEqual([])
    expect(existsSync(h.journal)).toBe(false)
    expect(downloads()).toBe(before)
  })

  it('refuses without --yes too (no terminal), and with --json prints no install', async () => {
    const h = fx.host({ installed: managedA })
    for (const args of [['update'], ['update', '--yes', '--json']]) {
      const r = await fx.run(h, args)
      expect(r.code, show(r)).toBe(1)
      expect(r.stderr).toContain(`upgrade it with: ${UPGRADE}`)
    }
    expect(readFileSync(h.installPath).equals(managedA)).toBe(true)
  })

  it('still reports a newer version with cco update --check (exit 0)', async () => {
    const h = fx.host({ installed: managedA })
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`→ Latest version: ${VERSION_B}\nℹ️  New version available: ${VERSION_B}\n`)
  })

  it('exits 0 on cco update when it is the latest version', async () => {
    const h = fx.host({ installed: readFileSync(await clientBundle({ version: VERSION_B, managedBy: UPGRADE })) })
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain('✅ You are running the latest version')
  })

  it('shows the upgrade command in cco version and cco version --json', async () => {
    const h = fx.host({ installed: managedA })
    const human = await fx.run(h, ['version'])
    expect(human.stdout, show(human)).toContain(`\nUpdates: managed by a package manager; upgrade with: ${UPGRADE}\n`)
    const json = JSON.parse((await fx.run(h, ['version', '--json'])).stdout) as { managed_by: unknown }
    expect(json.managed_by).toBe(UPGRADE)
  })

  it('is not installed over by the daemon with auto_install on: it logs the upgrade command instead', async () => {
    const d = await daemonHost({ installed: managedPath, config: { server: fx.server.url, keys: [fx.signer.publicKey], autoInstall: true, interval: 'hourly' } })
    daemons.push(d)
    const start = await d.cco(['daemon', 'start'])
    expect(start.code, show(start)).toBe(0)
    await d.waitForLog(new RegExp(`Not installing automatically: cco was installed by a package manager and does not replace itself; upgrade it with: ${UPGRADE}`), 30_000)
    expect(d.log()).toContain(`Latest version: ${VERSION_B}`)
    expect(d.log()).not.toContain('Downloading release')
    const health = await d.waitForHealth({ version: VERSION_A })
    expect(health.body.update_available).toBe(true)
    expect(readFileSync(d.installPath).equals(managedA)).toBe(true)
    expect(existsSync(d.backupPath)).toBe(false)
  })
})

describe('the --managed-by build option', () => {
  it.each([
    ['an empty value', '', 'it is empty'],
    ['a second line', 'brew upgrade cco\nrm -rf ~', 'printable ASCII'],
    ['201 characters', 'x'.repeat(201), 'longer than 200 characters'],
  ])('build:release refuses %s before building anything (exit 2)', async (_label, value, why) => {
    const r = await runCco(process.execPath, [join(REPO_ROOT, 'scripts/build-release.ts'), '--version', VERSION_A, '--platforms', 'linux-x86_64', '--out', join(tmpdir(), 'cco-never-built'), '--managed-by', value], {
      home: tmpdir(),
    })
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain('invalid --managed-by')
    expect(r.stderr).toContain(why)
    expect(r.stderr).not.toContain('Building cco')
  })
})

describe('a build without --managed-by', () => {
  it('says nothing of a package manager and installs the update itself', async () => {
    const h = fx.host()
    const v = await fx.run(h, ['version', '--json'])
    expect((JSON.parse(v.stdout) as { managed_by: unknown }).managed_by).toBeNull()
    expect((await fx.run(h, ['version'])).stdout).not.toContain('package manager')
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)
  })
})
