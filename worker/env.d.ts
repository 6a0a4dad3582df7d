// Secrets of the broker. `wrangler types` only sees wrangler.toml (and .dev.vars when it
// exists), not `wrangler secret put`, so they are declared here. They are typed `string` like
// the generated ones (so that both declarations merge), but a deployment may lack any of them:
// worker/config.ts and worker/signing.ts turn a missing or bad value into a clear
// `misconfigured` error.

interface BrokerSecrets {
  /** The secret GitHub signs webhook deliveries with (`X-Hub-Signature-256`). */
  GITHUB_WEBHOOK_SECRET: string
  /** A private Ed25519 JWK with `kid`, or a JSON array of them during key rotation. */
  MANIFEST_SIGNING_KEY: string
  /** Admin API tokens as `name:sha256hex,…` (optional; without it and OIDC, admin routes answer 401). */
  ADMIN_TOKEN_HASHES: string
  /** Fleet report tokens as `name:sha256hex,…` (optional; without it `POST /v1/reports` answers 404 reports_disabled). */
  FLEET_TOKEN_HASHES: string
  /** The status page's session key (optional; at least 32 characters; without it `/status` shows only the channels). */
  STATUS_SESSION_KEY: string
  /** A GitHub token for reconciliation (optional; needed for private repositories). */
  GITHUB_TOKEN: string
  /** A JSON list of URLs that get rollout notifications (optional; a var may hold it too). */
  NOTIFY_URLS: string
  /** The key of the notifications' `X-Cco-Signature-256` HMAC-SHA256 (optional; without it they are sent unsigned). */
  NOTIFY_SECRET: string
  /**
   * The R2 bucket of the asset mirror. Optional: mirroring is on only when the binding exists
   * (see `mirrorBucket`); declared here because wrangler.toml keeps it off by default.
   */
  ASSETS_BUCKET: R2Bucket
}

declare namespace Cloudflare {
  interface Env extends BrokerSecrets {}
}
interface Env extends BrokerSecrets {}
