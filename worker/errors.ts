// Errors that are safe to send: an HTTP status, a stable machine-readable code and a message
// written for the caller. Anything else that escapes a handler becomes a generic 500.
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Refusal } from './policy/refusal.ts'

export class ApiError extends HTTPException {
  readonly code: string
  override readonly status: ContentfulStatusCode

  constructor(status: ContentfulStatusCode, code: string, message: string) {
    super(status, { message })
    this.status = status
    this.code = code
  }
}

/** The broker's configuration (a var or a secret) is missing or invalid. */
export class ConfigError extends ApiError {
  constructor(message: string) {
    super(500, 'misconfigured', message)
  }
}

/** A refusal decided by policy (policy/refusal.ts), answered as it is. */
export const refused = (r: Refusal): ApiError => new ApiError(r.status, r.code, r.message)

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`)
