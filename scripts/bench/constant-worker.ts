// A Worker that answers every request with the same bytes from memory: the broker's own answer
// to a manifest GET (its body and headers, passed in at start), so that under `wrangler dev` it
// shows what the local runtime costs for exactly that response before any broker code runs.
interface ConstantEnv {
  BODY: string
  /** JSON object of the broker's response headers (etag, cache-control, content-type, …). */
  HEADERS: string
}

let headers: Record<string, string> | undefined

export default {
  async fetch(request: Request, env: ConstantEnv): Promise<Response> {
    headers ??= JSON.parse(env.HEADERS) as Record<string, string>
    const etag = headers.etag!
    if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag, 'cache-control': headers['cache-control']! } })
    return new Response(env.BODY, { headers })
  },
}
