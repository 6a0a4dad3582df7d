// A stand-in for GitHub Actions' OIDC provider: the issuer's JWKS, and the token endpoint a
// job reaches through ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN, minting
// RS256 tokens with GitHub's claims (repository, ref, workflow, run_id) for the audience asked.
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'

export interface OidcClaims {
  repository: string
  ref: string
  workflow?: string
  run_id?: string
}

export interface FakeOidcIssuer {
  /** The issuer (`iss`), also the base URL. */
  issuer: string
  jwksUrl: string
  /** What a job sees as ACTIONS_ID_TOKEN_REQUEST_URL (it already has a query string). */
  requestUrl: string
  /** What a job sees as ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string
  /** The audiences tokens were minted for, in order. */
  minted: string[]
  close(): Promise<void>
}

export async function startFakeOidcIssuer(claims: OidcClaims): Promise<FakeOidcIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256')
  const kid = 'test-issuer-key'
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] }
  const requestToken = randomBytes(16).toString('hex')
  const minted: string[] = []
  let issuer = ''

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (url.pathname === '/.well-known/jwks') return json(200, jwks)
    if (url.pathname === '/token') {
      if (req.headers.authorization !== `bearer ${requestToken}`) return json(401, { message: 'bad request token' })
      if (url.searchParams.get('api-version') !== '2.0') return json(400, { message: 'api-version missing' })
      const audience = url.searchParams.get('audience')
      if (!audience) return json(400, { message: 'audience missing' })
      minted.push(audience)
      const now = Math.floor(Date.now() / 1000)
      new SignJWT({ ...claims, sub: `repo:${claims.repository}:ref:${claims.ref}` })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt(now)
        .setNotBefore(now - 5)
        .setExpirationTime(now + 300)
        .sign(privateKey)
        .then((value) => json(200, { count: 1, value }), (err: Error) => json(500, { message: err.message }))
      return
    }
    json(404, { message: 'not found' })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks`,
    requestUrl: `${issuer}/token?api-version=2.0`,
    requestToken,
    minted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
