// The single executable's launcher (scripts/lib/sea.ts): `cco --version` is answered by a few
// lines before the bundle is compiled, every other command runs the bundle from its SEA asset,
// with or without the build's V8 code cache. Built for real into this Node with postject, around
// a stand-in bundle that leaves a mark when it runs, so the test sees whether it ran.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostPlatform, injectBlob, launcherSource, makeBlob } from '../../scripts/lib/sea.ts'

const V = '2026.4.7'
const canBuild = process.platform === 'linux' && hostPlatform() !== null

// Writes what it saw (argv, __filename, a builtin) to the file named by CCO_TEST_MARK.
const STAND_IN = `const { writeFileSync } = require('fs')
writeFileSync(process.env.CCO_TEST_MARK, JSON.stringify({ argv: process.argv.slice(2), filename: __filename, sep: require('node:path').sep }))
`

let work: string
const binaries: Record<'plain' | 'cached', string> = { plain: '', cached: '' }

beforeAll(async () => {
  if (!canBuild) return
  work = mkdtempSync(join(tmpdir(), 'cco-sea-launcher-'))
  const main = join(work, 'main.cjs')
  writeFileSync(main, STAND_IN)
  for (const kind of ['plain', 'cached'] as const) {
    const blob = join(work, `${kind}.blob`)
    await makeBlob(main, blob, { codeCache: kind === 'cached', version: V })
    binaries[kind] = join(work, kind, 'cco')
    await injectBlob(process.execPath, blob, binaries[kind], hostPlatform()!)
  }
}, 120_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

function runIt(binary: string, args: string[]) {
  const mark = join(work, `mark-${Math.random().toString(36).slice(2)}`)
  const r = spawnSync(binary, args, { env: { PATH: process.env.PATH, CCO_TEST_MARK: mark }, encoding: 'utf8' })
  const seen = existsSync(mark) ? (JSON.parse(readFileSync(mark, 'utf8')) as { argv: string[]; filename: string; sep: string }) : null
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seen }
}

describe.skipIf(!canBuild)('the single executable launcher', () => {
  for (const kind of ['plain', 'cached'] as const) {
    it(`${kind}: answers --version and -V itself, without running the bundle`, () => {
      for (const flag of ['--version', '-V']) {
        const r = runIt(binaries[kind], [flag])
        expect(r).toMatchObject({ status: 0, stdout: `cco ${V}\n`, stderr: '' })
        expect(r.seen).toBeNull()
      }
    })

    it(`${kind}: runs the bundle for everything else, with argv, __filename and builtins as a SEA main has them`, () => {
      for (const args of [['version'], ['--version', 'extra'], []]) {
        const r = runIt(binaries[kind], args)
        expect(r.status, r.stderr).toBe(0)
        expect(r.stdout).toBe('')
        expect(r.seen).toEqual({ argv: args, filename: binaries[kind], sep: '/' })
      }
    })
  }

  it('refuses a version that is not one (it is written into the launcher)', () => {
    expect(() => launcherSource('1.2.3\n")')).toThrow(/not a version/)
    expect(launcherSource(V)).toContain(JSON.stringify(`cco ${V}\n`))
  })
})
