// A build-time constant for tests of the health gate: a test build sets it (esbuild `define`
// or a substitution in the built bundle) to make `/health` answer with that HTTP status, i.e.
// a binary that starts and listens but never reports healthy. Release builds leave it
// undefined; nothing at run time (no variable, no file) can turn it on.
declare const __CCO_TEST_HEALTH_STATUS__: number | undefined

/** The status `/health` must answer with in a test build, null in every real build. */
export const FORCED_HEALTH_STATUS: number | null = typeof __CCO_TEST_HEALTH_STATUS__ === 'undefined' ? null : __CCO_TEST_HEALTH_STATUS__
