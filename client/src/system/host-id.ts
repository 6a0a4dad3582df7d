// The random id of this host, written once: it places the host in rollout buckets.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { errnoCode } from '../errors.ts'
import { writeFileAtomic } from './fs-atomic.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function readHostId(file: string): string | null {
  try {
    const id = readFileSync(file, 'utf8').trim()
    return UUID.test(id) ? id : null
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
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
