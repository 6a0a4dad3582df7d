#!/usr/bin/env node
// The `cco` entry and the only place that ends the process. `cco --version` is answered here
// before anything else is loaded: it is the self-test every new binary must pass, so it must
// be fast and touch nothing (no config, no state, no network).
import { VERSION } from './build-info.ts'
import { safeText } from './output/terminal-text.ts'

const EXIT_FAILURE = 1

function finish(code: number): void {
  process.exitCode = code
  // Everything should be closed by now; if a stray socket or timer keeps the event loop
  // alive, do not hang a cron job over it.
  setTimeout(() => process.exit(code), 3000).unref()
}

// `cco version | head -1` closes the pipe early. Writes after that are dropped quietly; an
// update in progress must not die halfway because nobody reads its output any more.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err
  })
}

const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`cco ${VERSION}\n`)
} else {
  // No top-level await: the bundle is CommonJS (and later a single executable). esbuild
  // turns this import into a lazily evaluated module of the same file.
  import('./main.ts').then(
    (m) => m.main(argv).then(finish),
    (err: unknown) => {
      process.stderr.write(`cco failed to start: ${safeText(err instanceof Error ? err.message : String(err))}\n`)
      finish(EXIT_FAILURE)
    },
  ).catch((err: unknown) => {
    process.stderr.write(`unexpected error: ${safeText(err instanceof Error ? err.message : String(err))}\n`)
    finish(EXIT_FAILURE)
  })
}
