// A Worker that answers every request with the same bytes from memory: run under
// `wrangler dev` it shows what the local runtime costs before any of the broker's code runs.
interface ConstantEnv {
  BODY: string
}

export default {
  async fetch(request: Request, env: ConstantEnv): Promise<Response> {
    const etag = '"constant"'
    if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } })
    return new Response(env.BODY, { headers: { etag, 'content-type': 'application/jose+json' } })
  },
}
