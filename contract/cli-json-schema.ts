// The `schema` number of every `cco … --json` document, apart from the document shapes
// (cli-json.ts) so that printing a document does not build every command's zod schema.

/**
 * The version of every `--json` document. Adding a field does not change it (readers ignore
 * fields they do not know); removing or renaming a field, or changing a field's type or meaning,
 * makes it 2.
 */
export const CLI_JSON_SCHEMA = 1
