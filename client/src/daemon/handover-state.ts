// `daemon-handover.json` in the state dir: the last restart of the daemon into another binary
// and how it ended. `cco update` reads it to stop waiting early when a restart was rolled
// back, and a restored daemon reads it so that it does not install the same failing version
// again on its next scheduled check.
import { join } from 'node:path'
import * as z from 'zod'
import { writeFileAtomic } from '../system/fs-atomic.ts'
import { readStateFile } from '../system/state-file.ts'

export const HandoverSchema = z.object({
  /** The process that handed over (or, for the watchdog, the daemon it guards). */
  from_pid: z.int(),
  from_version: z.string(),
  to_version: z.string(),
  /**
   * starting:    the new binary is being started and health-checked
   * done:        it answered /health with its version; the old process exits
   * rolled-back: it did not; cco.backup was put back and the previous version restarted
   * failed:      it did not, and the previous binary could not be restored or restarted
   */
  phase: z.enum(['starting', 'done', 'rolled-back', 'failed']),
  at: z.string(),
  detail: z.string().default(''),
})
export type HandoverState = z.infer<typeof HandoverSchema>

export function handoverFile(stateDir: string): string {
  return join(stateDir, 'daemon-handover.json')
}

/** The record, null when there is none or it cannot be read or understood. */
export function readHandover(stateDir: string): HandoverState | null {
  const read = readStateFile(handoverFile(stateDir), HandoverSchema)
  return read.kind === 'ok' ? read.value : null
}

/** Best effort: the record helps later decisions but must never fail a restart. */
export function writeHandover(stateDir: string, state: HandoverState): void {
  try {
    writeFileAtomic(handoverFile(stateDir), `${JSON.stringify(state)}\n`)
  } catch {}
}
