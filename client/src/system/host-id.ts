// The random id of this host, written once: it places the host in rollout buckets.
import { randomUUID } from 'node:crypto'
import { writeFileAtomic } from './fs-atomic.ts'
import { readStateText } from './state-file.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The stored id, null when there is none; a symlink or fifo in its place is refused (exit 1). */
export function readHostId(file: string): string | null {
  const id = readStateText(file, 1024)?.trim() ?? null
  return id !== null && UUID.test(id) ? id : null
}

/** The stored id, or a new one written with mode 0600 (it is not secret, but it is ours). */
export function ensureHostId(file: string): string {
  const existing = readHostId(file)
  if (existing) return existing
  const id = randomUUID()
  writeFileAtomic(file, `${id}\n`, { mode: 0o600 })
  // Two first runs at once may both write; whichever rename came last is the id from now on.
  return readHostId(file) ?? id
}
