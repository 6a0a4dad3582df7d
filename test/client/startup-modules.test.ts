// Start-up cost: commands that make no request do not load the HTTP stack (undici, about a
// fifth of `cco version`'s start-up), and a command loads its own module only (main.ts,
// cli-daemon.ts and cli-release.ts import them when the command runs). Seen from inside the
// real process: a preloaded module lists, at exit, the undici files in the CommonJS module
// cache (where Node keeps a CommonJS package that ES modules imported) and the command
// modules its resolve hook saw.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
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
afterAll(() => rmSync(work, { recursive: true, force: true }))

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

  it('cco version loads the version command only (and the two whose constants option help shows)', () => {
    const r = spawnSync(process.execPath, ['--import', commandProbe, join(ROOT, 'client/src/cli.ts'), 'version'], { cwd: work, env: childEnv(work), encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    expect(/commands loaded: (.*)/.exec(r.stderr)?.[1]).toBe('daemon-logs.ts release-fleet.ts version.ts')
  })
})
