// The documented minimum Node.js is the real one: package.json `engines.node`, the README's
// quick start and scripts/check-node.mjs agree, and every installed package's own `engines.node`
// allows every version that range allows, so `npm ci` on any of them prints no EBADENGINE
// warning (npm checks the running Node against each package's `engines`).
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../../support/cco-process.ts'

// semver comes with the dependency tree (npm itself uses it); no types are installed for it.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null
  validRange(range: string): string | null
  subset(sub: string, dom: string): boolean
  satisfies(version: string, range: string): boolean
}

interface Manifest {
  name?: string
  version?: string
  engines?: { node?: unknown }
  devDependencies?: Record<string, string>
}

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Manifest
const root = read(join(REPO_ROOT, 'package.json'))
const range = String(root.engines?.node)

/** Every package.json under node_modules, nested ones included. */
function installed(dir: string, out: { at: string; manifest: Manifest }[] = []): { at: string; manifest: Manifest }[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return out
  }
  for (const name of names) {
    if (name.startsWith('.')) continue
    const path = join(dir, name)
    if (name.startsWith('@')) {
      installed(path, out)
      continue
    }
    try {
      out.push({ at: path, manifest: read(join(path, 'package.json')) })
    } catch {
      continue
    }
    installed(join(path, 'node_modules'), out)
  }
  return out
}

describe('the minimum Node.js', () => {
  it('is one range in package.json, starting where check-node.mjs and the README say', () => {
    expect(semver.validRange(range), range).not.toBeNull()
    const minimum = semver.minVersion(range)!.version
    const guard = /const MINIMUM = \[(\d+), (\d+)\]/.exec(readFileSync(join(REPO_ROOT, 'scripts/check-node.mjs'), 'utf8'))
    expect(guard, 'MINIMUM in scripts/check-node.mjs').not.toBeNull()
    expect(`${guard![1]}.${guard![2]}.0`).toBe(minimum)
    const short = minimum.replace(/\.0$/, '')
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain(`Node.js ${short} or newer`)
  })

  it('is satisfied by the Node the scripts run on (the "node" devDependency)', () => {
    const pinned = root.devDependencies?.node
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/)
    expect(semver.satisfies(pinned!, range)).toBe(true)
    expect(semver.satisfies(process.versions.node, range)).toBe(true)
  })

  it('is allowed by the engines.node of every installed package', () => {
    const packages = installed(join(REPO_ROOT, 'node_modules'))
    expect(packages.length).toBeGreaterThan(100)
    const refusing = packages
      .filter(({ manifest }) => typeof manifest.engines?.node === 'string')
      .filter(({ manifest }) => {
        const theirs = manifest.engines!.node as string
        return semver.validRange(theirs) === null || !semver.subset(range, theirs)
      })
      .map(({ manifest }) => `${manifest.name}@${manifest.version}: engines.node ${JSON.stringify(manifest.engines!.node)}`)
    expect([...new Set(refusing)]).toEqual([])
  })
})
