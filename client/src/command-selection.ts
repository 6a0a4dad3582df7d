// What a command registered on the commander program hands back to main.ts: how to run it
// (returning data for JSON and the human lines) and whether `--json` was asked for.
import type { AppContext } from './context.ts'

export interface CommandSelection {
  run: (app: AppContext) => Promise<{ json: unknown; lines: string[] }>
  json: boolean
}

/** `(o, run) => select({json: !!o.json, run})`: what every command's action hands back. */
export function selector(select: (s: CommandSelection) => void) {
  return (o: { json?: boolean }, run: CommandSelection['run']): void => select({ json: !!o.json, run })
}
