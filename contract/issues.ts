// One way to turn a schema refusal (zod or zod/mini, both sides) into words: the first
// problem, as `field.path: message`. Imports nothing: it reads the issues' plain shape.

/** The part of a zod error this reads (`ZodError` of `zod` and `zod/mini` alike). */
export interface SchemaIssues {
  readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[]
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
