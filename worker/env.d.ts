// Secrets of the broker. `wrangler types` only sees wrangler.toml, not the git-ignored
// .dev.vars or `wrangler secret put`, so they are declared here. All are optional in the
// type because a deployment may lack them; worker/config.ts and worker/signing.ts turn a
// missing or bad value into a clear `misconfigured` error.

interface BrokerSecrets {
  /** The secret GitHub signs webhook deliveries with (`X-Hub-Signature-256`). */
  GITHUB_WEBHOOK_SECRET?: string
  /** A private Ed25519 JWK with `kid`, or a JSON array of them during key rotation. */
  MANIFEST_SIGNING_KEY?: string
  /** Admin API credentials (`name:sha256hex`, comma-separated); used by the admin API. */
  ADMIN_TOKEN_HASHES?: string
  /** Optional GitHub token (private repositories, reconciliation). */
  GITHUB_TOKEN?: string
}

declare namespace Cloudflare {
  interface Env extends BrokerSecrets {}
}
interface Env extends BrokerSecrets {}
