// Reads an admin request's JSON body and validates it with a contract schema: malformed JSON
// is a 400, a body the schema refuses a 422 whose message names the field. An empty body is
// read as `{}`, so a missing field is reported by name too.
import type { Context } from 'hono'
import type * as z from 'zod/mini'
import { firstIssueInWords } from '../contract/issues.ts'
import { ApiError } from './errors.ts'
import { readCapped } from './read-capped.ts'

/** Admin bodies are a few fields; anything larger is not one of them. */
export const ADMIN_BODY_MAX_BYTES = 16 * 1024

export async function jsonBody<S extends z.ZodMiniType>(c: Context, schema: S): Promise<z.infer<S>> {
  const bytes = await readCapped(c.req.raw.body, ADMIN_BODY_MAX_BYTES, c.req.header('content-length'))
  if (bytes === null) throw new ApiError(413, 'payload_too_large', `request body over ${ADMIN_BODY_MAX_BYTES} bytes`)
  const text = new TextDecoder().decode(bytes).trim()
  let json: unknown = {}
  if (text !== '') {
    try {
      json = JSON.parse(text)
    } catch {
      throw new ApiError(400, 'malformed_json', 'the request body is not valid JSON')
    }
  }
  // reportInput: a missing field is then told apart from one of the wrong type (`reason: required`).
  const parsed = schema.safeParse(json, { reportInput: true })
  if (!parsed.success) throw new ApiError(422, 'invalid_request', firstIssueInWords(parsed.error, 'body'))
  return parsed.data
}
