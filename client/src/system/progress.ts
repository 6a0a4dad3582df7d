// A download progress bar on stderr (only used on a terminal, never with NO_COLOR).
import { Presets, SingleBar } from 'cli-progress'
import { safeText, type OutStream } from './terminal-text.ts'

/** What a download reports its progress to: the terminal bar here, or the daemon's log lines. */
export interface ProgressBar {
  update(received: number): void
  stop(): void
}

export function terminalProgress(stderr: OutStream): (label: string, total: number) => ProgressBar {
  return (label, total) => {
    const bar = new SingleBar(
      {
        stream: stderr as NodeJS.WritableStream,
        // The label is the asset name from the manifest; cli-progress writes its own escapes.
        format: `  ${safeText(label)} [{bar}] {percentage}% | {value_mb}/{total_mb} MiB | {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    )
    const mib = (n: number) => (n / 1048576).toFixed(1)
    bar.start(total, 0, { value_mb: mib(0), total_mb: mib(total) })
    return {
      update: (n) => bar.update(n, { value_mb: mib(n), total_mb: mib(total) }),
      stop: () => bar.stop(),
    }
  }
}
