// Reads a request or response body into memory with a byte cap that holds even when the
// sender lies about (or omits) Content-Length: bytes are counted as they arrive.

/** The body's bytes, or null as soon as it is (or declares to be) larger than `max`. */
export async function readCapped(body: ReadableStream<Uint8Array> | null, max: number, contentLength?: string | null): Promise<Uint8Array | null> {
  const declared = Number(contentLength ?? '')
  if (Number.isFinite(declared) && declared > max) {
    await body?.cancel()
    return null
  }
  if (!body) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > max) {
      await reader.cancel()
      return null
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}
