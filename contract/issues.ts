// One way to turn a schema refusal (zod or zod/mini, both sides) into words: the first
// problem, as `field.path: message`. Imports nothing: it reads the issues' plain shape.

/** One problem of a zod error (`zod` and `zod/mini` alike); `input` is there only when parsed with `reportInput: true`. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[]
  readonly message: string
  readonly code?: string
  readonly expected?: unknown
  readonly keys?: readonly string[]
  readonly input?: unknown
}

/** The part of a zod error this reads (`ZodError` of `zod` and `zod/mini` alike). */
export interface SchemaIssues {
  readonly issues: readonly SchemaIssue[]
}

/** Where the first problem is (`release.assets.0.url`), or `root` when it is the whole value. */
export function issuePath(error: SchemaIssues, root = '(root)'): string {
  const first = error.issues[0]
  return first && first.path.length > 0 ? first.path.map(String).join('.') : root
}

/** `path: message` of the first problem (`updates.channel: must be one of stable, beta`). */
export function firstIssue(error: SchemaIssues, root = '(root)'): string {
  const first = error.issues[0]
  return first ? `${issuePath(error, root)}: ${first.message}` : `${root}: invalid`
}

/**
 * `path: what is wrong` of the first problem, in words also where the schema wrote none:
 * zod/mini's own message is only "Invalid input", so that one is replaced by `required` (a
 * missing field; known only when parsed with `reportInput: true`), `must be an integer`,
 * `unknown field x` or `invalid value`.
 */
export function firstIssueInWords(error: SchemaIssues, root = '(root)'): string {
  const first = error.issues[0]
  return first ? `${issuePath(error, root)}: ${inWords(first)}` : `${root}: invalid`
}

function inWords(issue: SchemaIssue): string {
  if (issue.message && issue.message !== 'Invalid input') return issue.message
  if (issue.code === 'invalid_type') {
    if ('input' in issue && issue.input === undefined) return 'required'
    const expected = issue.expected === 'int' ? 'an integer' : issue.expected === 'object' ? 'a JSON object' : `a ${String(issue.expected)}`
    return `must be ${expected}`
  }
  if (issue.code === 'unrecognized_keys' && issue.keys?.length) return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
  return 'invalid value'
}
