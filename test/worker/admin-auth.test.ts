// Who may call the admin API: static tokens (ADMIN_TOKEN_HASHES) and GitHub Actions OIDC
// tokens from a test issuer whose JWKS is served through the fetch stub. Every refused
// credential leaves the broker's state untouched; the public reads never need one.
import { reset } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp } from '../../worker/app.ts'
import { BROKER, TOKENS, adminPost, auditLog, backdateLive, fakeNetwork, publish, stateSnapshot } from './helpers.ts'

const ISSUER = 'https://oidc.test'
const JWKS_URL = `${ISSUER}/.well-known/jwks`
const AUDIENCE = 'https://broker.test'

let issuerKey: CryptoKey
let otherKey: CryptoKey
let jwk: JWK

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true })
  issuerKey = pair.privateKey
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'issuer-key-1', alg: 'RS256', use: 'sig' }
  otherKey = (await generateKeyPair('RS256')).privateKey
})

beforeEach(() => {
  fakeNetwork({ [JWKS_URL]: () => Response.json({ keys: [jwk] }) })
})

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

interface TokenOptions {
  claims?: Record<string, unknown>
  issuer?: string
  audience?: string
  expiresAt?: number
  key?: CryptoKey
  kid?: string
}

/** A token shaped like GitHub's, for a workflow run on main of the configured repository. */
async function oidcToken(o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({
    repository: 'cco-dev/cco',
    ref: 'refs/heads/main',
    workflow: 'Promote to stable',
    run_id: '9876543210',
    actor: 'octocat',
    sub: 'repo:cco-dev/cco:ref:refs/heads/main',
    ...o.claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'issuer-key-1', typ: 'JWT' })
    .setIssuer(o.issuer ?? ISSUER)
    .setAudience(o.audience ?? AUDIENCE)
    .setIssuedAt(now - 60)
    .setNotBefore(now - 60)
    .setExpirationTime(o.expiresAt ?? now + 300)
    .sign(o.key ?? issuerKey)
}

async function soakedRelease() {
  await publish('2026.11.1')
  await backdateLive('2026.11.1', 25)
}

describe('GitHub Actions OIDC', () => {
  it('accepts a token for the repository on main, with the run in the audit entry', async () => {
    await soakedRelease()
    const r = await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' }, await oidcToken())
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect(r.body).toMatchObject({ version: '2026.11.1', changed: true })
    expect((await auditLog()).find((e) => e.action === 'channel.promoted')).toMatchObject({
      actor: 'oidc:cco-dev/cco@refs/heads/main',
      detail: { version: '2026.11.1', auth: { workflow: 'Promote to stable', run_id: '9876543210', actor: 'octocat' } },
    })
  })

  it('accepts a tag ref matched by an OIDC_REFS glob', async () => {
    await soakedRelease()
    const token = await oidcToken({ claims: { ref: 'refs/tags/v2026.11.1' } })
    const r = await adminPost('/v1/channels/stable/rollout', { percent: 100 }, token)
    // Authenticated: stable has no release yet, so the broker itself refuses the rollout.
    expect(r.status).toBe(409)
    expect(r.body.error.message).toMatch(/has no release/)
  })

  it('refuses bad tokens (401) and identities that may not administer the broker (403), changing nothing', async () => {
    await soakedRelease()
    const now = Math.floor(Date.now() / 1000)
    const cases: [string, Promise<string>, number, RegExp][] = [
      ['signed by another key', oidcToken({ key: otherKey }), 401, /does not verify against the issuer's keys/],
      ['signed by a key the issuer does not list', oidcToken({ key: otherKey, kid: 'someone-else' }), 401, /does not verify against the issuer's keys/],
      ['for another audience', oidcToken({ audience: 'https://other-broker.test' }), 401, /audience is not accepted/],
      ['from another issuer', oidcToken({ issuer: 'https://evil.test' }), 401, /issuer is not accepted/],
      ['expired', oidcToken({ expiresAt: now - 120 }), 401, /has expired/],
      ['for another repository', oidcToken({ claims: { repository: 'someone/fork' } }), 403, /accepted only from cco-dev\/cco \(this one is from someone\/fork\)/],
      ['for another branch', oidcToken({ claims: { ref: 'refs/heads/feature' } }), 403, /accepted only for refs\/heads\/main, refs\/tags\/v\* \(this one is for refs\/heads\/feature\)/],
      ['without a repository claim', oidcToken({ claims: { repository: undefined } }), 403, /no repository or ref claim/],
      ['with a forged signature', oidcToken().then((t) => t.slice(0, -4) + (t.endsWith('AAAA') ? 'BBBB' : 'AAAA')), 401, /does not verify/],
    ]
    const before = await stateSnapshot()
    for (const [what, token, status, message] of cases) {
      const r = await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' }, await token)
      expect(r.status, what).toBe(status)
      expect(r.body.error, what).toMatchObject({ code: status === 401 ? 'unauthorized' : 'forbidden', message: expect.stringMatching(message) })
      expect(await stateSnapshot(), what).toEqual(before)
    }
  })

  it('refuses an HS256 token made with the public key as secret (algorithm confusion)', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(jwk))
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({ repository: 'cco-dev/cco', ref: 'refs/heads/main' })
      .setProtectedHeader({ alg: 'HS256', kid: 'issuer-key-1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(secret)
    const r = await adminPost('/v1/channels/stable/rollout', { percent: 5 }, token)
    expect(r.status).toBe(401)
  })

  it("answers 503 when the issuer's keys cannot be fetched", async () => {
    vi.restoreAllMocks()
    fakeNetwork({ 'https://oidc-down.test/.well-known/jwks': () => new Response('unavailable', { status: 500 }) })
    const app = createApp()
    const res = await app.fetch(
      new Request(`${BROKER}/v1/channels/stable/rollout`, { method: 'POST', headers: { authorization: `Bearer ${await oidcToken()}` }, body: '{"percent":5}' }),
      { ...env, OIDC_ISSUER: 'https://oidc-down.test' },
    )
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ error: { code: 'oidc_unavailable', message: expect.stringMatching(/could not be fetched/) } })
  })
})

describe('OIDC_REPOSITORY_ID and OIDC_WORKFLOW_REFS', () => {
  const PROMOTE = 'cco-dev/cco/.github/workflows/promote.yml@refs/heads/main'
  const VARS = { OIDC_REPOSITORY_ID: '123456789', OIDC_WORKFLOW_REFS: `${PROMOTE},cco-dev/cco/.github/workflows/release-*` }
  const GOOD = { repository_id: '123456789', job_workflow_ref: PROMOTE }

  /** A rollout on beta through a Worker configured with `vars` on top of the test vars. */
  async function rollout(token: string, vars: Record<string, string> = VARS) {
    const res = await createApp().fetch(
      new Request(`${BROKER}/v1/channels/beta/rollout`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{"percent":50}' }),
      { ...env, ...vars },
    )
    return { status: res.status, body: (await res.json()) as Record<string, any> }
  }

  it('accepts a token whose repository_id and job_workflow_ref match, by exact entry or trailing-* prefix', async () => {
    await publish('2026.11.1')
    expect(await rollout(await oidcToken({ claims: GOOD }))).toMatchObject({ status: 200, body: { channel: 'beta', rollout: { percent: 50 }, changed: true } })
    const release = await oidcToken({ claims: { ...GOOD, job_workflow_ref: 'cco-dev/cco/.github/workflows/release-stable.yml@refs/tags/v2026.11.1' } })
    expect(await rollout(release)).toMatchObject({ status: 200, body: { changed: false } })
  })

  it('refuses with 403 a token from another repository id or workflow, or without those claims, changing nothing', async () => {
    await publish('2026.11.1')
    const { repository_id: _id, ...noId } = GOOD
    const { job_workflow_ref: _ref, ...noRef } = GOOD
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['a re-created repository of the same name', { ...GOOD, repository_id: '987654321' }, /only from repository id 123456789 \(this one is from 987654321\)/],
      ['no repository_id claim', noId, /only from repository id 123456789 \(this one has no repository_id claim\)/],
      ['another workflow on main', { ...GOOD, job_workflow_ref: 'cco-dev/cco/.github/workflows/ci.yml@refs/heads/main' }, /only from the workflows .*promote\.yml.* \(this one is from cco-dev\/cco\/\.github\/workflows\/ci\.yml@refs\/heads\/main\)/],
      ['the promote workflow from a fork', { ...GOOD, job_workflow_ref: 'someone/cco/.github/workflows/promote.yml@refs/heads/main' }, /only from the workflows/],
      ['no job_workflow_ref claim', noRef, /\(this one has no job_workflow_ref claim\)/],
    ]
    const before = await stateSnapshot()
    for (const [what, claims, message] of cases) {
      const r = await rollout(await oidcToken({ claims }))
      expect(r.status, what).toBe(403)
      expect(r.body.error, what).toEqual({ code: 'forbidden', message: expect.stringMatching(message) })
      expect(await stateSnapshot(), what).toEqual(before)
    }
    // Unset, the claims are not looked at (the tokens above pass the other checks).
    expect((await rollout(await oidcToken({ claims: noId }), {})).status).toBe(200)
  })

  it('reports a malformed OIDC_REPOSITORY_ID or OIDC_WORKFLOW_REFS as misconfigured', async () => {
    const token = await oidcToken({ claims: GOOD })
    const bad: Record<string, string>[] = [{ OIDC_REPOSITORY_ID: 'cco-dev/cco' }, { OIDC_WORKFLOW_REFS: 'promote.yml' }, { OIDC_WORKFLOW_REFS: 'cco-dev/cco/.github/workflows/promote.yml' }, { OIDC_WORKFLOW_REFS: 'cco-dev/*/promote.yml@refs/heads/main' }]
    for (const vars of bad) {
      const r = await rollout(token, vars)
      expect(r.status, JSON.stringify(vars)).toBe(500)
      expect(r.body.error, JSON.stringify(vars)).toMatchObject({ code: 'misconfigured', message: expect.stringMatching(/^var OIDC_(REPOSITORY_ID|WORKFLOW_REFS)/) })
    }
  })
})

describe('static tokens', () => {
  it('names the matching token in the audit log', async () => {
    await soakedRelease()
    await adminPost('/v1/channels/stable/promote', { version: '2026.11.1' }, TOKENS.alice)
    await adminPost('/v1/channels/stable/rollout', { percent: 40 }, TOKENS['release-bot'])
    const actors = (await auditLog()).filter((e) => e.action.startsWith('channel.')).map((e) => [e.action, e.actor, e.detail.auth])
    expect(actors).toEqual([
      ['channel.promoted', 'token:alice', undefined],
      ['channel.rollout', 'token:release-bot', undefined],
    ])
  })

  it('accepts the scheme in any case and refuses other schemes', async () => {
    await soakedRelease()
    const call = (authorization: string) =>
      exports.default.fetch(`${BROKER}/v1/channels/beta/rollout`, { method: 'POST', headers: { authorization }, body: '{"percent":50}' })
    expect((await call(`bearer ${TOKENS.alice}`)).status).toBe(200)
    expect((await call(`Basic ${btoa(`alice:${TOKENS.alice}`)}`)).status).toBe(401)
    expect((await call(`Bearer ${TOKENS.alice} extra`)).status).toBe(401)
  })

  it('keeps the public reads open without a token', async () => {
    for (const path of ['/v1/channels', '/v1/releases', '/v1/channels/beta/manifest', '/.well-known/jwks.json', '/health']) {
      expect((await exports.default.fetch(`${BROKER}${path}`)).status, path).toBe(200)
    }
  })
})

describe('configuration', () => {
  const call = (vars: Record<string, string>, token: string | null = TOKENS.alice) =>
    createApp().fetch(
      new Request(`${BROKER}/v1/channels/stable/rollout`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, body: '{"percent":5}' }),
      { ...env, ...vars },
    )

  it('answers 401 saying so when the broker has no admin credentials, and still serves reads', async () => {
    const res = await call({ ADMIN_TOKEN_HASHES: '', OIDC_AUDIENCE: '' })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringMatching(/no admin credentials configured/) } })
    const read = await createApp().fetch(new Request(`${BROKER}/v1/channels`), { ...env, ADMIN_TOKEN_HASHES: '', OIDC_AUDIENCE: '' })
    expect(read.status).toBe(200)
  })

  it('refuses an OIDC-shaped token when OIDC is off', async () => {
    const res = await call({ OIDC_AUDIENCE: '' }, 'aaa.bbb.ccc')
    expect(res.status).toBe(401)
    expect(((await res.json()) as any).error.message).toMatch(/OIDC tokens are not accepted by this broker/)
  })

  it('reports a malformed ADMIN_TOKEN_HASHES as misconfigured without echoing it', async () => {
    const secret = 'ops:not-a-hash-but-a-plaintext-token'
    const res = await call({ ADMIN_TOKEN_HASHES: secret })
    expect(res.status).toBe(500)
    const body = (await res.json()) as any
    expect(body.error).toEqual({ code: 'misconfigured', message: expect.stringMatching(/^secret ADMIN_TOKEN_HASHES: entry 1 is not name:sha256hex/) })
    expect(JSON.stringify(body)).not.toContain('plaintext')
  })
})
