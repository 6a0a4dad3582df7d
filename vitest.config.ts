// Test projects: the broker's tests run inside workerd (the real Workers runtime, via
// the Cloudflare plugin); contract, client and end-to-end tests run in Node 22.
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
// Test-only signing keys (generated once for this suite; they sign nothing real).
import testKeys from './test/worker/fixtures/test-signing-keys.json' with { type: 'json' }

/** The broker under test: wrangler.toml plus test secrets and the given var overrides. */
function workerdOptions(vars: Record<string, string>) {
  return {
    wrangler: { configPath: './wrangler.toml' },
    miniflare: {
      bindings: {
        GITHUB_WEBHOOK_SECRET: 'test-webhook-secret',
        MANIFEST_SIGNING_KEY: JSON.stringify(testKeys.primary),
        PUBLIC_URL: 'https://broker.test',
        ...vars,
      },
    },
  }
}

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest(workerdOptions({}))],
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'], exclude: ['test/worker/stable-from-releases.test.ts'] },
      },
      {
        // The same Worker with STABLE_FROM_RELEASES on (vars are fixed per workerd instance).
        plugins: [cloudflareTest(workerdOptions({ STABLE_FROM_RELEASES: 'true' }))],
        test: { name: 'worker-stable', include: ['test/worker/stable-from-releases.test.ts'] },
      },
      {
        test: {
          name: 'node',
          include: ['test/contract/**/*.test.ts', 'test/client/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
})
