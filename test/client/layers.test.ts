// The client's layers only point down (client/README.md, "Layout"): every relative import in
// client/src goes to the same layer or a lower one. Read from the source files themselves, so
// a new upward import fails here with the file and the line.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = resolve(import.meta.dirname, '../../client/src')

/** Top to bottom; a file may import its own layer or any layer below it. */
const LAYERS: readonly (readonly string[])[] = [
  ['cli.ts', 'main.ts', 'cli-daemon.ts', 'cli-release.ts', 'command-selection.ts'],
  ['output'],
  ['commands'],
  ['daemon', 'release'],
  ['fleet'],
  ['update'],
  ['config'],
  ['context.ts'],
  ['system'],
  ['errors.ts', 'build-info.ts'],
]

function layerOf(path: string): number {
  const top = relative(SRC, path).split('/')[0]!
  const rank = LAYERS.findIndex((names) => names.includes(top))
  if (rank < 0) throw new Error(`client/src/${relative(SRC, path)} is in no layer: add ${top} to LAYERS`)
  return rank
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
}

/** Upward imports: `file:line imports target`. */
function upwardImports(): string[] {
  const found: string[] = []
  for (const file of sourceFiles(SRC)) {
    const from = layerOf(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)) {
      const target = resolve(dirname(file), m[1]!)
      if (!target.startsWith(SRC + '/')) continue // contract/, node:…
      const line = text.slice(0, m.index).split('\n').length
      if (layerOf(target) < from) found.push(`client/src/${relative(SRC, file)}:${line} imports ${relative(SRC, target)}`)
    }
  }
  return found
}

describe('client layers', () => {
  it('puts every source file in a layer', () => {
    for (const file of sourceFiles(SRC)) expect(() => layerOf(file)).not.toThrow()
  })

  it('has no import that points up', () => {
    expect(upwardImports()).toEqual([])
  })
})
