// A download progress bar on stderr: bytes, percent and speed, only on a terminal.
import { Presets, SingleBar } from 'cli-progress'
import { envValue, type Env } from './env.ts'
import { safeText, type OutStream } from './terminal-text.ts'

/** What a download reports its progress to: the terminal bar here, or the daemon's log lines. */
export interface ProgressBar {
  update(received: number): void
  stop(): void
}

/**
 * Whether a download draws a bar: only when stderr is a terminal that can redraw a line (not
 * `TERM=dumb`), and not with `--quiet`. `NO_COLOR` is about colour (https://no-color.org) and
 * the bar has none, so it does not hide the bar.
 */
export function wantsProgressBar(env: Env, stderr: OutStream, o: { quiet?: boolean } = {}): boolean {
  return !o.quiet && stderr.isTTY === true && envValue(env, 'TERM') !== 'dumb'
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB'] as const

/** `512 B/s`, `40.0 KiB/s`, `12.3 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  let v = Math.max(0, bytesPerSecond)
  let unit = 0
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024
    unit++
  }
  return `${unit === 0 ? Math.round(v) : v.toFixed(1)} ${UNITS[unit]}/s`
}

export function terminalProgress(stderr: OutStream, now: () => number = Date.now): (label: string, total: number) => ProgressBar {
  return (label, total) => {
    const bar = new SingleBar(
      {
        stream: stderr as NodeJS.WritableStream,
        // The label is the asset name from the manifest; cli-progress writes its own escapes
        // (cursor moves and line clears, never colours).
        format: `  ${safeText(label)} [{bar}] {percentage}% | {value_mb}/{total_mb} MiB | {speed} | {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    )
    const mib = (n: number) => (n / 1048576).toFixed(1)
    const started = now()
    // The average since the start: steadier to read than the last chunk's rate.
    const speed = (n: number) => {
      const seconds = (now() - started) / 1000
      return seconds > 0 ? formatRate(n / seconds) : formatRate(0)
    }
    bar.start(total, 0, { value_mb: mib(0), total_mb: mib(total), speed: formatRate(0) })
    return {
      update: (n) => bar.update(n, { value_mb: mib(n), total_mb: mib(total), speed: speed(n) }),
      stop: () => bar.stop(),
    }
  }
}
