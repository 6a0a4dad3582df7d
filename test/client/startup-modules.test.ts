// Start-up cost: commands that make no request do not load the HTTP stack (undici, about a
// fifth of `cco version`'s start-up), and a command loads its own module only (main.ts,
// cli-daemon.ts and cli-release.ts import them when the command runs). Neither do they build
// schemas they do not use (contract/api.ts, contract/cli-json.ts), load the progress bar, or
// load recover.ts and the update modules behind it when there is no install journal. Seen from
// inside the real process: a preloaded module lists, at exit, the undici files in the CommonJS
// module cache (where Node keeps a CommonJS package that ES modules imported) and the modules
// its resolve hook saw.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { clientBundle } from '../../support/client-bundles.ts'
import { childEnv } from '../../support/cco-process.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const work = mkdtempSync(join(tmpdir(), 'cco-startup-modules-'))
const probe = join(work, 'probe.mjs')
writeFileSync(
  probe,
  `import { createRequire } from 'node:module'
process.on('exit', () => {
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/undici/'))
  process.stderr.write('undici files loaded: ' + loaded.length + '\\n')
})
`,
)
const commandProbe = join(work, 'command-probe.mjs')
writeFileSync(
  commandProbe,
  `import { registerHooks } from 'node:module'
const seen = new Set()
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (/\\/client\\/src\\/commands\\//.test(r.url)) seen.add(r.url.replace(/.*\\/commands\\//, '')); return r } })
process.on('exit', () => process.stderr.write('commands loaded: ' + [...seen].sort().join(' ') + '\\n'))
`,
)
const moduleProbe = join(work, 'module-probe.mjs')
writeFileSync(
  moduleProbe,
  `import { registerHooks } from 'node:module'
const seen = new Set()
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); const m = /\\/((?:client\\/src|contract)\\/.*|node_modules\\/[^/]+)/.exec(r.url.replace(/.*?\\/node_modules\\//, '/node_modules/')); if (m) seen.add(m[1].replace(/^node_modules\\/([^/]+).*/, '$1')); return r } })
process.on('exit', () => process.stderr.write('modules loaded: ' + [...seen].sort().join(' ') + '\\n'))
`,
)
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Runs the source CLI in `home` and returns the client, contract and package modules it loaded. */
function modulesLoaded(args: string[], home = work): { loaded: string[]; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', moduleProbe, join(ROOT, 'client/src/cli.ts'), ...args], { cwd: home, env: childEnv(home), encoding: 'utf8' })
  expect(r.status, r.stderr).toBe(0)
  const m = /modules loaded: (.*)/.exec(r.stderr)
  if (!m) throw new Error(`no probe line: ${r.stderr}`)
  return { loaded: m[1]!.split(' '), stderr: r.stderr }
}

const NOT_ON_VERSION_PATH = [
  'client/src/update/recover.ts',
  'client/src/update/journal.ts',
  'client/src/system/progress.ts',
  'cli-progress',
  'client/src/release/arguments.ts',
  'contract/api.ts',
  'contract/cli-json.ts',
]

function undiciFiles(args: string[], cwd = work): number {
  const r = spawnSync(process.execPath, ['--import', probe, ...args], { cwd, env: childEnv(work), encoding: 'utf8' })
  const m = /undici files loaded: (\d+)/.exec(r.stderr)
  if (!m) throw new Error(`no probe line (exit ${r.status}): ${r.stderr}`)
  return Number(m[1])
}

describe('start-up', () => {
  it('the probe sees undici when it is loaded', () => {
    expect(undiciFiles(['--input-type=module', '-e', "await import('undici')"], join(ROOT, 'client'))).toBeGreaterThan(0)
  })

  it('cco version and cco config path do not load undici', () => {
    expect(undiciFiles([join(ROOT, 'client/src/cli.ts'), 'version'])).toBe(0)
    expect(undiciFiles([join(ROOT, 'client/src/cli.ts'), 'config', 'path'])).toBe(0)
  })

  it('cco version loads the version command only (and the defaults that option help shows)', () => {
    const r = spawnSync(process.execPath, ['--import', commandProbe, join(ROOT, 'client/src/cli.ts'), 'version'], { cwd: work, env: childEnv(work), encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(/commands loaded: (.*)/.exec(r.stderr)?.[1]).toBe('option-defaults.ts version.ts')
  })

  it('cco version and cco version --json build neither the request nor the --json schemas, nor load recovery or the progress bar', () => {
    for (const args of [['version'], ['version', '--json']]) {
      const { loaded } = modulesLoaded(args)
      // The probe sees the modules that do load (so an empty list cannot pass by accident).
      expect(loaded).toEqual(expect.arrayContaining(['client/src/commands/version.ts', 'client/src/config/schema.ts', 'zod', 'commander']))
      expect(loaded.filter((m) => NOT_ON_VERSION_PATH.includes(m))).toEqual([])
    }
  })

  it('an install journal makes the next command load recover.ts, which recovers it', () => {
    const home = mkdtempSync(join(work, 'journal-'))
    const state = join(home, '.local/state/cco')
    mkdirSync(state, { recursive: true })
    writeFileSync(join(state, 'install-journal.json'), 'not json')
    const { loaded, stderr } = modulesLoaded(['version'], home)
    expect(loaded).toContain('client/src/update/recover.ts')
    expect(stderr).toContain('removed an unreadable install journal')
    expect(existsSync(join(state, 'install-journal.json'))).toBe(false)
  })

  it("the bundle carries zod's English messages and none of its other locales", async () => {
    // The client imports zod as a namespace (`import * as z from 'zod'`), which esbuild can
    // shake; `import { z }` pulls the whole namespace object: every locale and the JSON Schema
    // generator, about 350 KiB more of a minified bundle that every start compiles or
    // deserializes.
    const text = readFileSync(await clientBundle({ version: '2026.1.1' }), 'utf8')
    expect(text).toContain('Invalid input')
    expect(text).not.toContain('erwartet') // German
    expect(text).not.toContain('JSONSchemaGenerator')
  })
})
