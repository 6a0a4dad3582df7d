// The deploy preflight (scripts/deploy-preflight.ts, run by `npm run deploy` and deploy.yml) as a
// release engineer meets it: the committed wrangler.toml is refused, naming every placeholder and
// where to set it; a filled-in copy is accepted; a var or binding of the top level missing from
// [env.production] (wrangler does not inherit them) is refused too. And [env.production] builds.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../support/cco-process.ts'

const PREFLIGHT = join(REPO_ROOT, 'scripts/deploy-preflight.ts')
const COMMITTED = readFileSync(join(REPO_ROOT, 'wrangler.toml'), 'utf8')
const dir = mkdtempSync(join(tmpdir(), 'cco-deploy-preflight-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function preflight(toml?: string) {
  const args = [PREFLIGHT]
  if (toml !== undefined) {
    const file = join(dir, `wrangler-${Math.random().toString(16).slice(2)}.toml`)
    writeFileSync(file, toml)
    args.push(file)
  }
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The committed file as a release engineer fills it in. */
const filledIn = (toml: string) =>
  toml
    .replace('pattern = "REPLACE_ME.example.com"', 'pattern = "releases.example.org"')
    .replace('PUBLIC_URL = "https://REPLACE_ME.example.com"', 'PUBLIC_URL = "https://releases.example.org"')
    .replace(/^id = "REPLACE_ME"$/m, 'id = "5f6e1c0a9b8d4e7f8a1b2c3d4e5f6a7b"')

/** The [env.production] part of the file, without comments. */
const productionPart = (toml: string) =>
  toml
    .slice(toml.indexOf('[env.production]'))
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')

describe('the deploy preflight', () => {
  it('refuses the committed wrangler.toml, naming every placeholder and where to set it', () => {
    const r = preflight()
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('nothing was deployed')
    const named = r.stderr.split('\n').filter((l) => l.includes('is a placeholder'))
    // Every REPLACE_ME left in [env.production] is named, each on its own line.
    expect(named).toHaveLength(productionPart(COMMITTED).match(/REPLACE_ME/g)!.length)
    expect(r.stderr).toContain('env.production.kv_namespaces[0].id is a placeholder')
    expect(r.stderr).toContain('npx wrangler kv namespace create MANIFESTS --env production')
    expect(r.stderr).toContain('env.production.vars.PUBLIC_URL is a placeholder')
    expect(r.stderr).toContain('set PUBLIC_URL in [env.production.vars]')
    expect(r.stderr).toContain('env.production.routes[0].pattern is a placeholder')
  })

  it('accepts a filled-in copy', () => {
    const r = preflight(filledIn(COMMITTED))
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('has no placeholder left')
  })

  it('refuses a var or binding of the top level that [env.production] lacks', () => {
    const withTopVar = filledIn(COMMITTED).replace('[vars]\n', '[vars]\nNEW_SETTING = "on"\n')
    const r = preflight(withTopVar)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('the var NEW_SETTING is set at the top of wrangler.toml but not in [env.production.vars] (not inherited)')
    const withoutFleet = filledIn(COMMITTED).replace('[[env.production.durable_objects.bindings]]\nname = "FLEET"\nclass_name = "FleetShard"\n', '')
    const d = preflight(withoutFleet)
    expect(d.code).toBe(1)
    expect(d.stderr).toContain('the Durable Object binding FLEET is set at the top of wrangler.toml but not in [[env.production.durable_objects.bindings]]')
  })

  it('refuses a PUBLIC_URL that is not an https origin', () => {
    for (const url of ['http://releases.example.org', 'https://releases.example.org/']) {
      const r = preflight(filledIn(COMMITTED).replace('PUBLIC_URL = "https://releases.example.org"', `PUBLIC_URL = "${url}"`))
      expect(r.code, url).toBe(1)
      expect(r.stderr).toContain(`env.production.vars.PUBLIC_URL = "${url}" is not an https:// origin`)
    }
  })

  it('refuses a file without [env.production]', () => {
    const r = preflight(COMMITTED.slice(0, COMMITTED.indexOf('[env.production]')))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('there is no [env.production] table')
  })
})

describe('[env.production]', () => {
  it('builds with wrangler deploy --dry-run --env production', { timeout: 120_000 }, () => {
    const out = join(dir, 'dist')
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--env', 'production', '--outdir', out], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    })
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
    // Its own bindings, since wrangler does not inherit them.
    for (const b of ['env.BROKER (Broker)', 'env.FLEET (FleetShard)', 'env.MANIFESTS', 'env.PUBLIC_URL']) expect(r.stdout).toContain(b)
  })
})
