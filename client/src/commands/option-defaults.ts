// Defaults that option help shows (`cco daemon logs --help`, `cco release fleet hosts --help`).
// Kept apart from their commands so that building the help text, which every run does, does
// not load those commands' modules (and the HTTP and log-tail code behind them).

/** `cco daemon logs -n`: lines shown when -n is not given. */
export const DEFAULT_LOG_LINES = 50
/** `cco release fleet hosts --limit`. */
export const DEFAULT_HOSTS_LIMIT = 1000
/** `cco release fleet events --limit`. */
export const DEFAULT_EVENTS_LIMIT = 100
