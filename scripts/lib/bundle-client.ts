// Bundles the cco client into one CommonJS file for Node 22 (the release build later injects
// the same file into a Node single executable), with the build-time constants fixed.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { build } from 'esbuild'
import { PublicKeySchema, type PublicKey } from '../../contract/manifest.ts'
import { isVersion } from '../../contract/version.ts'
import { managedByProblem } from '../../client/src/update/managed.ts'

const ROOT = resolve(import.meta.dirname, '../..')
export const CLIENT_ENTRY = resolve(ROOT, 'client/src/cli.ts')

export interface BundleClientOptions {
  version: string
  outfile: string
  /** Broker used when the config names none (default: the local development broker). */
  defaultServer?: string
  /** Manifest keys built into the binary, trusted besides `[[trust.keys]]`. */
  trustKeys?: PublicKey[]
  build?: 'dev' | 'release'
  /** A package-managed build: the command that upgrades it (`brew upgrade cco`); cco then never replaces itself. */
  managedBy?: string
  minify?: boolean
  /**
   * JavaScript appended to the bundle as it is (esbuild's footer), for tests and the bench that
   * need two builds whose code differs, not only their version. Never set by a real release.
   */
  extraCode?: string
}

export interface BundleResult {
  outfile: string
  bytes: number
  warnings: string[]
}

export async function bundleClient(options: BundleClientOptions): Promise<BundleResult> {
  if (!isVersion(options.version)) throw new Error(`bundleClient: not a version: ${options.version}`)
  const trustKeys = (options.trustKeys ?? []).map((k) => PublicKeySchema.parse(k))
  if (options.defaultServer !== undefined) new URL(options.defaultServer)
  const managedProblem = options.managedBy === undefined ? null : managedByProblem(options.managedBy)
  if (managedProblem) throw new Error(`bundleClient: invalid managedBy ${JSON.stringify(options.managedBy)}: ${managedProblem}`)
  const outfile = resolve(options.outfile)
  mkdirSync(dirname(outfile), { recursive: true })

  const define: Record<string, string> = {
    __CCO_VERSION__: JSON.stringify(options.version),
    __CCO_BUILD__: JSON.stringify(options.build ?? 'dev'),
    __CCO_TRUST_KEYS__: JSON.stringify(trustKeys),
    // CommonJS has no import.meta; the bundled code and its dependencies get a file URL.
    'import.meta.url': '__cco_import_meta_url',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
  }
  if (options.defaultServer !== undefined) define.__CCO_DEFAULT_SERVER__ = JSON.stringify(options.defaultServer)
  if (options.managedBy !== undefined) define.__CCO_MANAGED_BY__ = JSON.stringify(options.managedBy)

  const result = await build({
    entryPoints: [CLIENT_ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    define,
    banner: {
      js: 'const __cco_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
    },
    footer: options.extraCode ? { js: options.extraCode } : undefined,
    legalComments: 'none',
    minify: options.minify ?? false,
    sourcemap: false,
    logLevel: 'silent',
    metafile: false,
  })
  // esbuild moves the entry's `#!/usr/bin/env node` to the top of the bundle; make sure it is
  // there, since the file is executed directly.
  const text = readFileSync(outfile, 'utf8')
  if (!text.startsWith('#!')) writeFileSync(outfile, `#!/usr/bin/env node\n${text}`)
  chmodSync(outfile, 0o755)
  return { outfile, bytes: statSync(outfile).size, warnings: result.warnings.map((w) => w.text) }
}
