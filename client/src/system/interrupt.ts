// An AbortSignal that fires on Ctrl-C or SIGTERM, for commands that run until interrupted
// (`cco daemon logs --follow`); the handlers are removed again by `dispose`.
export function abortOnSignals(signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController()
  const onSignal = () => controller.abort()
  for (const s of signals) process.on(s, onSignal)
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) process.off(s, onSignal)
    },
  }
}
