// The command surface scripts rely on: --version as a side-effect-free probe, `cco version`
// lines, usage errors (exit 2), help, and the administrator guide's one-liners.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show, SOURCE_ENTRY } from '../../support/cco-process.ts'
import { startUpdateFixture, VERSION_A, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

let fx: UpdateFixture
let h: CcoHome
beforeAll(async () => {
  fx = await startUpdateFixture()
  h = fx.host()
}, 60_000)
afterAll(() => fx.close())

describe('cco --version', () => {
  it('prints "cco <version>" and touches nothing: no config, no state, no network', async () => {
    const empty = makeHome()
    try {
      // A broken config and a leftover journal must not matter to the probe.
      mkdirSync(join(empty.home, '.config', 'cco'), { recursive: true })
      writeFileSync(empty.configFile, '[updates\n')
      mkdirSync(empty.stateDir, { recursive: true })
      writeFileSync(empty.journal, '{"format":1}')
      const before = fx.server.requests.length
      for (const flag of ['--version', '-V']) {
        const r = await runCco(fx.bundles[VERSION_A]!, [flag], { home: empty.home, env: { HTTP_PROXY: 'http://127.0.0.1:9' } })
        expect(r.code, show(r)).toBe(0)
        expect(r.stdout).toBe(`cco ${VERSION_A}\n`)
        expect(r.stderr).toBe('')
      }
      expect(readdirSync(empty.stateDir)).toEqual(['install-journal.json'])
      expect(existsSync(join(empty.stateDir, 'host-id'))).toBe(false)
      expect(fx.server.requests.length).toBe(before)
    } finally {
      empty.cleanup()
    }
  })

  it('runs from source as the development version', async () => {
    const r = await runCco(SOURCE_ENTRY, ['--version'], { home: h.home })
    expect(r.stdout, show(r)).toBe('cco 0.0.0-dev\n')
  })
})

describe('cco version', () => {
  it('starts with "CCO version <version>", then channel, server and platform', async () => {
    const r = await fx.run(h, ['version'])
    expect(r.code, show(r)).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(`CCO version ${VERSION_A}`)
    expect(lines[1]).toBe('Channel: stable')
    expect(lines[2]).toBe(`Server: ${fx.server.url}`)
    expect(lines[3]).toMatch(/^Platform: linux-(x86_64|aarch64)$/)
  })

  it('gives the version to `cco version | head -1 | awk \'{print $3}\'`', async () => {
    const r = await runCco('/bin/sh', ['-c', `"${h.installPath}" version | head -1 | awk '{print $3}'`], { home: h.home })
    expect(r.stdout).toBe(`${VERSION_A}\n`)
    // `head` closing the pipe early is not an error worth a stack trace.
    expect(r.stderr).toBe('')
  })

  it('prints one JSON object with --json', async () => {
    const r = await fx.run(h, ['version', '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject({ version: VERSION_A, channel: 'stable', server: fx.server.url })
  })
})

describe('usage', () => {
  it('exits 2 for an unknown command, an unknown option, a bad channel and no command', async () => {
    for (const args of [['frobnicate'], ['update', '--force'], ['update', '--channel', 'nightly'], ['config', 'get'], []]) {
      const r = await fx.run(h, args)
      expect(r.code, `${args.join(' ')}\n${show(r)}`).toBe(2)
      expect(r.stdout).toBe('')
    }
  })

  it('shows help for every command with exit 0', async () => {
    for (const args of [['help'], ['--help'], ['update', '--help'], ['help', 'config'], ['config', 'set', '--help'], ['rollback', '-h']]) {
      const r = await fx.run(h, args)
      expect(r.code, `${args.join(' ')}\n${show(r)}`).toBe(0)
      expect(r.stdout).toMatch(/^Usage: cco/)
    }
    expect((await fx.run(h, ['update', '--help'])).stdout).toMatch(/-y, --yes/)
  })

  it('accepts the administrator guide\'s `cco update --yes`', async () => {
    await fx.publish({ version: VERSION_B })
    const host = fx.host()
    const r = await fx.run(host, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Successfully updated to ${VERSION_B}`)
    const awk = await runCco('/bin/sh', ['-c', `"${host.installPath}" config get updates.last_check | awk '{print $3, $4}'`], { home: host.home })
    expect(awk.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$/)
    // The update itself survives a reader that stops early.
    await fx.publish({ version: VERSION_B })
    const piped = fx.host()
    const early = await runCco('/bin/sh', ['-c', `"${piped.installPath}" update --yes | head -1; "${piped.installPath}" --version`], { home: piped.home })
    expect(early.stdout).toBe(`→ Checking for updates...\ncco ${VERSION_B}\n`)
  })

  it('keeps stdout for results: warnings go to stderr', async () => {
    const broken = fx.host()
    writeFileSync(broken.configFile, '[updates\n')
    const r = await fx.run(broken, ['version'])
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe(`CCO version ${VERSION_A}`)
    expect(r.stderr).toMatch(/warning: config file .* is not valid TOML/)
  })
})
