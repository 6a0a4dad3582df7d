// Errors that are safe to send: an HTTP status, a stable machine-readable code and a message
// written for the caller. Anything else that escapes a handler becomes a generic 500.
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

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

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`)
