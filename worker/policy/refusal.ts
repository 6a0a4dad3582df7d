// The one refusal type, from the policy that decides it to the HTTP answer: a status and a
// machine-readable code that are safe to send, and a message written for the caller. A policy
// decision carries it (`{kind: 'refuse', ...refusal}`), the Durable Object answers it
// (`{ok: false, ...refusal}`), and the route throws it as an `ApiError` unchanged.

export interface Refusal {
  status: 404 | 409
  code: 'not_found' | 'conflict'
  message: string
}

export const notFound = (message: string): Refusal => ({ status: 404, code: 'not_found', message })
export const conflict = (message: string): Refusal => ({ status: 409, code: 'conflict', message })

/** Only the refusal's own fields (an answer or decision may carry more). */
export const refusalOf = (r: Refusal): Refusal => ({ status: r.status, code: r.code, message: r.message })
