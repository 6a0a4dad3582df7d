// The daemon's side of fleet reports: on its ticks it sends what is queued (by its own checks
// and health verdicts, or by a `cco update` whose send failed), right after an event of its own
// and otherwise once the queue's backoff or the broker's Retry-After is over. A send runs beside
// the loop, never inside it: a slow broker delays no check, no signal and no restart.
import type { Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { fleetReporter, type SendResult } from '../fleet/reporter.ts'

/** With nothing due, the queue file is looked at again after this long (another cco may have queued events). */
export const FLEET_LOOK_MS = 60_000

export class FleetSender {
  private inFlight: Promise<void> | null = null
  /** ms since the epoch; 0: at the next tick. */
  private nextLookAt = 0
  /** The next send follows an event: it does not wait for the backoff (the broker's hold still applies). */
  private eventPending = true

  private readonly app: AppContext

  constructor(app: AppContext) {
    this.app = app
  }

  /** An event was just queued: send at the next tick. */
  afterEvent(): void {
    this.eventPending = true
    this.nextLookAt = 0
  }

  /** Starts a send when one is due and none is running; returns at once. */
  tick(config: Config, now: number): void {
    if (!config.fleet.report || this.inFlight || now < this.nextLookAt) return
    const respectBackoff = !this.eventPending
    this.eventPending = false
    this.inFlight = fleetReporter(this.app, config)
      .send({ respectBackoff })
      .then((r) => {
        this.nextLookAt = nextLook(r, this.app.clock.now().getTime())
      })
      .finally(() => {
        this.inFlight = null
      })
  }

  /** Waits for a send in progress, at most `ms` (on the way out; what is not sent stays queued). */
  async settle(ms: number): Promise<void> {
    if (!this.inFlight) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.inFlight, new Promise<void>((r) => (timer = setTimeout(r, ms).unref()))])
    clearTimeout(timer)
  }
}

/** When to look at the queue again after a send. */
export function nextLook(r: SendResult, now: number): number {
  if (r.kind === 'waiting' || r.kind === 'failed') return Math.max(r.retryAt, now + 1_000)
  return now + FLEET_LOOK_MS
}
