// `--json` documents: the command's data with the top-level `schema` number every document
// carries, and the few results whose internal names are not the documented snake_case keys
// (contract/cli-json.ts; client/README.md, "JSON output").
import { CLI_JSON_SCHEMA } from '../../../contract/cli-json-schema.ts'
import type { UpdateOutcome } from '../commands/update.ts'
import type { RollbackResult } from '../update/rollback.ts'

/** The document main.ts prints: `schema` first, then the command's own fields. */
export function jsonDocument(data: unknown): Record<string, unknown> {
  return { schema: CLI_JSON_SCHEMA, ...(data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {}) }
}

/** A binary swap (`cco rollback`, and `installed` of `cco update`) under its documented keys. */
export function swapJson(r: RollbackResult) {
  return { version: r.version, previous_version: r.previousVersion, install_path: r.installPath, backup_path: r.backupPath }
}

export function updateJson(o: UpdateOutcome) {
  const installed = o.installed && {
    ...swapJson(o.installed),
    download: { bytes: o.installed.transfer.bytes, differential: o.installed.transfer.differential, archive_bytes: o.installed.transfer.archiveBytes },
  }
  return { ...o, installed }
}
