// Test projects: the broker's tests run inside workerd (the real Workers runtime, via
// the Cloudflare plugin); contract, client and end-to-end tests run in Node 22.
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { adminTokenEntry } from './scripts/lib/dev-vars.ts'
// Test-only admin tokens; the broker gets their hashes, as ADMIN_TOKEN_HASHES holds them.
import adminTokens from './test/worker/fixtures/admin-tokens.json' with { type: 'json' }
// Test-only fleet report tokens; the broker gets their hashes, as FLEET_TOKEN_HASHES holds them.
import fleetTokens from './test/worker/fixtures/fleet-tokens.json' with { type: 'json' }
// Test-only signing keys (generated once for this suite; they sign nothing real).
import testKeys from './test/worker/fixtures/test-signing-keys.json' with { type: 'json' }

const tokenHashes = Object.entries(adminTokens)
  .map(([name, token]) => adminTokenEntry(name, token))
  .join(',')
const fleetTokenHashes = Object.entries(fleetTokens)
  .map(([name, token]) => adminTokenEntry(name, token))
  .join(',')

/** The broker under test: wrangler.toml plus test secrets and the given var overrides. */
function workerdOptions(vars: Record<string, string>, r2Buckets: string[] = []) {
  return {
    wrangler: { configPath: './wrangler.toml' },
    miniflare: {
      bindings: {
        GITHUB_WEBHOOK_SECRET: 'test-webhook-secret',
        MANIFEST_SIGNING_KEY: JSON.stringify(testKeys.primary),
        PUBLIC_URL: 'https://broker.test',
        ADMIN_TOKEN_HASHES: tokenHashes,
        FLEET_TOKEN_HASHES: fleetTokenHashes,
        // The status page's session key (test-only).
        STATUS_SESSION_KEY: 'test-status-session-key-5b0e2f9c41d7a36e',
        // A test OIDC issuer: the tests sign tokens and serve its JWKS through a fetch stub.
        OIDC_ISSUER: 'https://oidc.test',
        OIDC_AUDIENCE: 'https://broker.test',
        OIDC_REFS: 'refs/heads/main,refs/tags/v*',
        // A stand-in for GitHub's REST API (the reconciliation tests answer it).
        GITHUB_API_URL: 'https://api.github.test',
        GITHUB_TOKEN: 'test-github-token',
        ...vars,
      },
      r2Buckets,
    },
  }
}

const ISOLATED = ['test/worker/stable-from-releases.test.ts', 'test/worker/mirror.test.ts', 'test/worker/differential-mirror.test.ts', 'test/worker/notifications.test.ts']

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest(workerdOptions({ MIN_BETA_SOAK_HOURS: '24' }))],
        test: { name: 'worker', include: ['test/worker/**/*.test.ts'], exclude: ISOLATED },
      },
      {
        // The same Worker with STABLE_FROM_RELEASES on (vars are fixed per workerd instance).
        plugins: [cloudflareTest(workerdOptions({ STABLE_FROM_RELEASES: 'true' }))],
        test: { name: 'worker-stable', include: ['test/worker/stable-from-releases.test.ts'] },
      },
      {
        // The same Worker with the R2 asset mirror on.
        plugins: [cloudflareTest(workerdOptions({}, ['ASSETS_BUCKET']))],
        test: { name: 'worker-mirror', include: ['test/worker/mirror.test.ts', 'test/worker/differential-mirror.test.ts'] },
      },
      {
        // The same Worker with outgoing notifications on (a test receiver and signing key).
        plugins: [cloudflareTest(workerdOptions({ NOTIFY_URLS: JSON.stringify(['https://hooks.test/services/T0/B0/secret-path', 'http://127.0.0.1:8787/notify']), NOTIFY_SECRET: 'test-notify-secret' }))],
        test: { name: 'worker-notify', include: ['test/worker/notifications.test.ts'] },
      },
      {
        test: {
          name: 'node',
          include: ['test/contract/**/*.test.ts', 'test/client/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/bench/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
})
