// What a refusal of the broker's admin API means to the person at the terminal, and which exit
// code it gets (client/README.md, "Exit codes"): credentials and bad requests 2, a refused change 1, a broker that
// is down or answers nonsense 3. The broker's own message is always shown.
import { Accepted } from '../../../contract/api.ts'
import { CliError, ExitCode } from '../errors.ts'

export interface BrokerRefusal {
  status: number
  /** The broker's `error.code`, when it sent an error body. */
  code: string | null
  /** The broker's `error.message`, or the start of whatever it sent. */
  message: string
}

/** Reads `{"error":{"code","message"}}`, or keeps a short excerpt of anything else. */
export function parseRefusal(status: number, text: string): BrokerRefusal {
  try {
    const parsed = Accepted.ErrorBody.safeParse(JSON.parse(text))
    if (parsed.success) return { status, code: parsed.data.error.code, message: parsed.data.error.message }
  } catch {}
  const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200)
  return { status, code: null, message: excerpt || '(empty answer)' }
}

/** A refusal of the admin API as a CliError whose exit code says what kind of problem it is. */
export class AdminApiError extends CliError {
  readonly refusal: BrokerRefusal
  constructor(message: string, exitCode: ExitCode, refusal: BrokerRefusal) {
    super(message, exitCode)
    this.name = 'AdminApiError'
    this.refusal = refusal
  }
}

export const TOKEN_HINT = 'set CCO_ADMIN_TOKEN or pass --token-file FILE'

/** `what` is a verb phrase naming the request for the message, e.g. `promote 2026.11.3 to stable`. */
export function adminError(what: string, r: BrokerRefusal): AdminApiError {
  const http = `HTTP ${r.status}${r.code ? ` ${r.code}` : ''}`
  const say = (text: string, code: ExitCode, hint = '') => new AdminApiError(`${text} (${http}): ${r.message}${hint}`, code, r)
  if (r.status === 401) return say('the broker refused the admin token', ExitCode.usage, `; ${TOKEN_HINT}`)
  if (r.status === 403) return say(`the broker does not allow this identity to ${what}`, ExitCode.usage)
  if (r.status === 404) return say(`cannot ${what}: not found`, ExitCode.failure)
  if (r.status === 409) return say(`the broker refused to ${what}`, ExitCode.failure)
  if (r.status === 400 || r.status === 422) return say(`invalid request to ${what}`, ExitCode.usage)
  if (r.status >= 500) return say(`the broker failed to ${what}`, ExitCode.network)
  return say(`unexpected answer from the broker to ${what}`, ExitCode.network)
}
