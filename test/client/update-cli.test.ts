// `cco update` end to end with real processes: a bundle of version A installed in a temporary
// HOME updates itself to a bundle of version B from signed manifests served locally.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { show, spawnCco, type CcoRun } from '../../support/cco-process.ts'
import type { CcoHome } from '../../support/cco-home.ts'
import { createSigner, manifestPayload, signManifest } from '../../support/signed-manifest.ts'
import { startUpdateFixture, tempDirs, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let fx: UpdateFixture
beforeAll(async () => {
  fx = await startUpdateFixture()
}, 60_000)
afterAll(() => fx.close())

const versionOf = (s: string) => /^cco (\S+)/.exec(s)?.[1]

describe('cco update --check', () => {
  it('reports a newer version without installing it, and records the check', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toBe(
      ['→ Checking for updates...', `→ Current version: ${VERSION_A}`, `→ Latest version: ${VERSION_B}`, `ℹ️  New version available: ${VERSION_B}`, ''].join('\n'),
    )
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_A)
    const get = await fx.run(h, ['config', 'get', 'updates.last_check'])
    expect(get.stdout).toMatch(/^updates\.last_check = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/)
    expect(readFileSync(join(h.stateDir, 'updates.log'), 'utf8')).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] \[INFO\] check: channel stable seq \d+/m)
    // The config keeps its comment.
    expect(readFileSync(h.configFile, 'utf8')).toMatch(/^# test host/)
  })

  it('says so when running the latest version', async () => {
    await fx.publish({ version: VERSION_A })
    const r = await fx.run(fx.host(), ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`→ Latest version: ${VERSION_A}\n✅ You are running the latest version\n`)
  })

  it('revalidates with If-None-Match and re-verifies the stored manifest on a 304', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    expect((await fx.run(h, ['update', '--check'])).code).toBe(0)
    const before = fx.server.requests.length
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`ℹ️  New version available: ${VERSION_B}`)
    const req = fx.server.requests.slice(before).find((q) => q.path.endsWith('/manifest'))
    expect(req?.headers['if-none-match']).toMatch(/^"[0-9a-f]{64}"$/)
    expect(req?.headers['user-agent']).toBe(`cco/${VERSION_A}`)
  })

  it('prints one JSON object with --json', async () => {
    await fx.publish({ version: VERSION_B })
    const r = await fx.run(fx.host(), ['update', '--check', '--json'])
    expect(r.code, show(r)).toBe(0)
    const j = JSON.parse(r.stdout) as Record<string, unknown>
    expect(j).toMatchObject({ status: 'available', channel: 'stable', current_version: VERSION_A, latest_version: VERSION_B, installed: null })
  })

  it('uses --channel for this run only', async () => {
    await fx.publish({ version: VERSION_A })
    await fx.publish({ version: VERSION_B, channel: 'beta' })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--check', '--channel', 'beta'])
    expect(r.stdout, show(r)).toContain(`→ Latest version: ${VERSION_B}`)
    expect((await fx.run(h, ['config', 'get', 'updates.channel'])).stdout).toBe('updates.channel = stable\n')
  })

  it('reports a release without an asset for this platform', async () => {
    const payload = manifestPayload({ version: VERSION_B, seq: 1000 })
    fx.server.manifest('stable', await signManifest(payload, [fx.signer]))
    const h = fx.host()
    const check = await fx.run(h, ['update', '--check'])
    expect(check.code, show(check)).toBe(0)
    expect(check.stdout).toMatch(/No release asset found for platform/)
    const upd = await fx.run(h, ['update', '--yes'])
    expect(upd.code, show(upd)).toBe(1)
    expect(upd.stderr).toMatch(/^No release asset found for platform/m)
  })
})

describe('cco update', () => {
  it('installs B with --yes, keeps cco.backup, records last_update, leaves no temp files', async () => {
    await fx.publish({ version: VERSION_B, notes: 'Faster startup.\nFixes the proxy bug.' })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`ℹ️  New version available: ${VERSION_B}\n`)
    expect(r.stdout).toContain('  Faster startup.\n  Fixes the proxy bug.\n')
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}\n`)
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_B)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
    expect(tempDirs(h)).toEqual([])
    expect(existsSync(h.journal)).toBe(false)
    expect((await fx.run(h, ['config', 'get', 'updates.last_update'])).stdout).toMatch(/^updates\.last_update = \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/)
    expect(readFileSync(join(h.stateDir, 'updates.log'), 'utf8')).toContain(`update: ${VERSION_A} -> ${VERSION_B}`)
    // Up to date now.
    const again = await fx.run(h, ['update', '--yes'])
    expect(again.stdout, show(again)).toContain('✅ You are running the latest version')
  })

  it('installs from a .zip archive too', async () => {
    await fx.publish({ version: VERSION_B, kind: 'zip' })
    const h = fx.host()
    const r = await fx.run(h, ['update', '-y'])
    expect(r.code, show(r)).toBe(0)
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_B)
  })

  it('proceeds without a terminal (cron) and without --yes', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const r = await fx.run(h, ['update'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stderr).not.toContain('Update now?')
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)
  })

  it('asks with --prompt: "n" and end of input both mean no, "y" means yes', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    for (const input of ['n\n', '']) {
      const r = await fx.run(h, ['update', '--prompt'], { input })
      expect(r.code, show(r)).toBe(0)
      expect(r.stderr).toContain('Update now? [Y/n]: ')
      expect(r.stdout).toContain('→ Update cancelled')
      expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_A)
    }
    const yes = await fx.run(h, ['update', '--prompt'], { input: 'y\n' })
    expect(yes.stdout, show(yes)).toContain(`✅ Successfully updated to ${VERSION_B}`)
  })

  /** `cco update --prompt` left waiting at its question; `answer` writes the reply. */
  async function waitingAtPrompt(h: CcoHome): Promise<{ answer(text: string): Promise<CcoRun> }> {
    const child = spawnCco(h.installPath, ['update', '--prompt'], { home: h.home })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const done = new Promise<CcoRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })))
    const deadline = Date.now() + 20_000
    while (!stderr.includes('Update now? [Y/n]: ')) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL')
        throw new Error(`no question from cco update --prompt\n${show(await done)}`)
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    return {
      answer(text) {
        child.stdin!.end(text)
        return done
      },
    }
  }

  it('holds no update lock while it asks, and does not install again what another update installed meanwhile', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const asking = await waitingAtPrompt(h)
    expect(existsSync(join(h.stateDir, 'update.lock'))).toBe(false)
    // Another updater on the host is not blocked by the open question.
    const other = await fx.run(h, ['update', '--yes'])
    expect(other.code, show(other)).toBe(0)
    expect(other.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)

    const r = await asking.answer('y\n')
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ ${VERSION_B} was installed by another update while you were asked; nothing to do\n`)
    expect(r.stdout).not.toContain('Successfully updated')
    // Not installed a second time: cco.backup is still A.
    expect(readFileSync(h.installPath)).toEqual(readFileSync(fx.bundles[VERSION_B]!))
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
  })

  it('installs nothing when the channel changed between the question and the answer', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const asking = await waitingAtPrompt(h)
    // The channel goes back to A while the question is open.
    await fx.publish({ version: VERSION_A })
    const r = await asking.answer('y\n')
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(
      `⚠️  Not installing ${VERSION_B}: the release changed while you were asked (${VERSION_A} is the latest on stable); run \`cco update\` again\n`,
    )
    expect(readFileSync(h.installPath)).toEqual(readFileSync(fx.bundles[VERSION_A]!))
    expect(existsSync(h.backupPath)).toBe(false)
    expect(tempDirs(h)).toEqual([])
  })

  it('moves a host off a yanked version, even to a lower one', async () => {
    await fx.publish({ version: VERSION_A, yanked: [{ version: VERSION_B, reason: 'crashes on start' }] })
    const h = fx.host({ installed: VERSION_B })
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`⚠️  Your version ${VERSION_B} was withdrawn: crashes on start`)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_A}`)
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_A)
  })

  it('prints one JSON object for an install with --json', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    const r = await fx.run(h, ['update', '--yes', '--json'])
    expect(r.code, show(r)).toBe(0)
    const j = JSON.parse(r.stdout) as { status: string; installed: { version: string; backup_path: string } }
    expect(j.status).toBe('updated')
    expect(j.installed).toMatchObject({ version: VERSION_B, backup_path: h.backupPath })
  })
})

describe('cco rollback', () => {
  it('puts cco.backup back, and a second rollback returns to where it was', async () => {
    await fx.publish({ version: VERSION_B })
    const h = fx.host()
    expect((await fx.run(h, ['update', '--yes'])).code).toBe(0)
    const r = await fx.run(h, ['rollback'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Rolled back to version ${VERSION_A}`)
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_A)
    expect(readFileSync(h.backupPath)).toEqual(readFileSync(fx.bundles[VERSION_B]!))
    const back = await fx.run(h, ['rollback'])
    expect(back.code, show(back)).toBe(0)
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_B)
    expect(tempDirs(h)).toEqual([])
  })

  it('refuses when there is no backup', async () => {
    const r = await fx.run(fx.host(), ['rollback'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/No backup found at .*cco\.backup/)
  })
})

describe('manifest refusals through the CLI', () => {
  // Each: accept a manifest first, then serve a bad one; exit 4 and the trust state untouched.
  async function refusedAfterAccepting(serveBad: () => Promise<void>, message: RegExp): Promise<void> {
    await fx.publish({ version: VERSION_B, seq: 50 })
    const h = fx.host()
    expect((await fx.run(h, ['update', '--check'])).code).toBe(0)
    const trust = join(h.stateDir, 'trust')
    const before = [readFileSync(join(trust, 'stable.json')), readFileSync(join(trust, 'stable.jws'))]
    await serveBad()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(4)
    expect(r.stderr).toMatch(message)
    expect([readFileSync(join(trust, 'stable.json')), readFileSync(join(trust, 'stable.jws'))]).toEqual(before)
    expect(versionOf((await fx.run(h, ['--version'])).stdout)).toBe(VERSION_A)
  }

  it('refuses a lower seq (a replayed old manifest)', async () => {
    await refusedAfterAccepting(() => fx.publish({ version: VERSION_B, seq: 49 }).then(() => {}), /Manifest refused \(seq\): seq 49 is lower than the last accepted seq 50/)
  })

  it('asks again past the caches when handed an older manifest, and accepts only a current one', async () => {
    await fx.publish({ version: VERSION_A, seq: 60 })
    const h = fx.host()
    expect((await fx.run(h, ['update', '--check'])).code).toBe(0)
    // A cache still holds seq 59; the broker itself (no-cache) has seq 61 with B.
    const stale = await signManifest(manifestPayload({ version: VERSION_A, seq: 59 }), [fx.signer])
    const current = await signManifest(manifestPayload({ version: VERSION_B, seq: 61 }), [fx.signer])
    const asked: (string | undefined)[] = []
    fx.server.route('/v1/channels/stable/manifest', (req, res) => {
      const cacheControl = req.headers['cache-control']
      asked.push(cacheControl)
      const body = cacheControl === 'no-cache' ? current : stale
      res.writeHead(200, { 'content-type': 'application/jose+json', 'content-length': body.length })
      res.end(body)
    })
    const r = await fx.run(h, ['update', '--check'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`ℹ️  New version available: ${VERSION_B}`)
    expect(asked).toEqual([undefined, 'no-cache'])
    expect(JSON.parse(readFileSync(join(h.stateDir, 'trust', 'stable.json'), 'utf8')).seq).toBe(61)
  })

  it('refuses an expired manifest', async () => {
    await refusedAfterAccepting(
      () => fx.publish({ version: VERSION_B, seq: 51, expiresAt: new Date(Date.now() - 3_600_000) }).then(() => {}),
      /Manifest refused \(expired\)/,
    )
  })

  it('refuses a manifest signed by a key that is not pinned', async () => {
    const stranger = await createSigner('stranger')
    await refusedAfterAccepting(async () => {
      fx.server.manifest('stable', await signManifest(manifestPayload({ version: VERSION_B, seq: 52 }), [stranger]))
    }, /Manifest refused \(untrusted-key\)/)
  })

  it('refuses a beta manifest served at the stable URL', async () => {
    await refusedAfterAccepting(async () => {
      fx.server.manifest('stable', await signManifest(manifestPayload({ version: VERSION_B, seq: 53, channel: 'beta' }), [fx.signer]))
    }, /Manifest refused \(channel\)/)
  })

  it('refuses an oversized answer before parsing it', async () => {
    await refusedAfterAccepting(async () => {
      fx.server.route('/v1/channels/stable/manifest', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/jose+json' })
        res.end(Buffer.alloc(200 * 1024, 0x7b))
      })
    }, /Manifest refused \(size\)/)
  })
})
