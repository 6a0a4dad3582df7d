// `npm run build:client -- --version V [--out F] [--server URL] [--trust-key kid:x]… [--release]
// [--managed-by CMD]`
import { parseArgs } from 'node:util'
import { bundleClient } from './lib/bundle-client.ts'

const { values } = parseArgs({
  options: {
    version: { type: 'string' },
    out: { type: 'string' },
    server: { type: 'string' },
    'trust-key': { type: 'string', multiple: true },
    release: { type: 'boolean', default: false },
    'managed-by': { type: 'string' },
    minify: { type: 'boolean', default: false },
  },
  strict: true,
})

if (!values.version) {
  console.error('usage: npm run build:client -- --version V [--out FILE] [--server URL] [--trust-key kid:x]... [--release] [--minify] [--managed-by CMD]')
  process.exit(2)
}

const trustKeys = (values['trust-key'] ?? []).map((spec) => {
  const i = spec.lastIndexOf(':')
  if (i <= 0) {
    console.error(`--trust-key must be kid:x, got ${spec}`)
    process.exit(2)
  }
  return { kid: spec.slice(0, i), x: spec.slice(i + 1) }
})

const result = await bundleClient({
  version: values.version,
  outfile: values.out ?? `dist/client/cco-${values.version}.cjs`,
  defaultServer: values.server,
  trustKeys,
  build: values.release ? 'release' : 'dev',
  minify: values.minify,
  managedBy: values['managed-by'],
})
for (const w of result.warnings) console.error(`warning: ${w}`)
console.log(`${result.outfile} (${(result.bytes / 1024).toFixed(0)} KiB, cco ${values.version})`)
