// The daemon's signals (TERM/INT stop, HUP re-reads the config, USR2 restarts into the binary at
// the install path; HUP and USR2 do not exist on Windows). A signal only sets a flag and wakes
// the loop's sleep: the loop does the work between checks.

/** What each signal asks of the loop. */
const ACTIONS: Partial<Record<NodeJS.Signals, 'stop' | 'reload' | 'restart'>> = {
  SIGTERM: 'stop',
  SIGINT: 'stop',
  SIGHUP: 'reload',
  SIGUSR2: 'restart',
}

export class ServiceSignals {
  /** The signal that stopped the daemon (the first one; later ones change nothing). */
  stopSignal: NodeJS.Signals | null = null
  /** Resolves on the stop signal: a check in progress gets a grace period from then. */
  readonly stopped: Promise<void>
  private reloadAsked = false
  private restartAsked = false
  private wake: (() => void) | null = null
  private onStop: () => void = () => {}
  private readonly handlers: [NodeJS.Signals, () => void][]

  constructor(platform: NodeJS.Platform = process.platform) {
    this.stopped = new Promise<void>((r) => (this.onStop = r))
    const signals: NodeJS.Signals[] = platform === 'win32' ? ['SIGTERM', 'SIGINT'] : ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2']
    this.handlers = signals.map((sig) => [sig, () => this.receive(sig)])
  }

  /** What a signal does; also how the tests send one. */
  receive(signal: NodeJS.Signals): void {
    const action = ACTIONS[signal]
    if (action === 'stop') {
      if (this.stopSignal) return
      this.stopSignal = signal
      this.onStop()
    } else if (action === 'reload') {
      this.reloadAsked = true
    } else if (action === 'restart') {
      this.restartAsked = true
    } else {
      return
    }
    this.wake?.()
  }

  /** Starts receiving the process's signals. */
  listen(): void {
    for (const [sig, h] of this.handlers) process.on(sig, h)
  }

  close(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h)
  }

  /** Whether a re-read was asked for since the last call. */
  takeReload(): boolean {
    const asked = this.reloadAsked
    this.reloadAsked = false
    return asked
  }

  /** Whether a restart was asked for since the last call. */
  takeRestart(): boolean {
    const asked = this.restartAsked
    this.restartAsked = false
    return asked
  }

  /** Sleeps `ms`, or less when a signal arrives. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wake = done
    })
  }
}
