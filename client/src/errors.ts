// Errors that carry their process exit code (client/README.md, "Exit codes"); only cli.ts turns them into an exit.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  network: 3,
  refused: 4,
  rolledBack: 5,
  rollbackFailed: 6,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * What failed, in a word, where neither the error's class nor its exit code says it: the lock
 * was held, the new binary failed its `--version` self-test, the install directory could not
 * be written, the release has no archive for this platform, there is no usable backup. Fleet
 * reports send it as part of the error class (fleet/error-class.ts); nothing else depends on it.
 */
export type FailureKind = 'lock' | 'self-test' | 'disk' | 'no-asset' | 'no-backup'

export interface CliErrorOptions extends ErrorOptions {
  kind?: FailureKind
}

export class CliError extends Error {
  readonly exitCode: ExitCode
  readonly kind: FailureKind | undefined
  /**
   * The message as printed, one entry per line: each line is escaped on its own
   * (output/terminal-text.ts), so a newline inside a field of one cannot start another. A message
   * that needs several lines passes them as an array; `message` is them joined with newlines.
   */
  readonly lines: readonly string[]
  constructor(message: string | readonly string[], exitCode: ExitCode = ExitCode.failure, options?: CliErrorOptions) {
    const lines = typeof message === 'string' ? [message] : message
    super(lines.join('\n'), options)
    this.name = 'CliError'
    this.exitCode = exitCode
    this.kind = options?.kind
    this.lines = lines
  }
}

/** A bad command line, config key or config value (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.usage, options)
    this.name = 'UsageError'
  }
}

/** The broker, a download host or a proxy could not be reached or answered badly (exit 3). */
export class NetworkError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.network, options)
    this.name = 'NetworkError'
  }
}

/** The named trust rule that refused a manifest or an artifact. */
export type RefusalRule =
  | 'size'
  | 'format'
  | 'signature'
  | 'untrusted-key'
  | 'typ'
  | 'schema'
  | 'payload'
  | 'product'
  | 'channel'
  | 'seq'
  | 'expired'
  | 'insecure-url'
  | 'digest'
  | 'archive'

/** A manifest or an artifact failed verification (exit 4); nothing was trusted or installed. */
export class RefusedError extends CliError {
  readonly rule: RefusalRule
  constructor(rule: RefusalRule, message: string, options?: ErrorOptions) {
    super(message, ExitCode.refused, options)
    this.name = 'RefusedError'
    this.rule = rule
  }
}

/** The new binary failed after the swap and the previous one is back in place (exit 5). */
export class RolledBackError extends CliError {
  constructor(message: string | readonly string[] = 'Update failed, rolled back to previous version', options?: ErrorOptions) {
    super(message, ExitCode.rolledBack, options)
    this.name = 'RolledBackError'
  }
}

/** Putting the previous binary back failed too: a human has to run `command` (exit 6). */
export class RollbackFailedError extends CliError {
  readonly command: string
  constructor(detail: string, command: string, options?: ErrorOptions) {
    super([`Rollback failed: ${detail}`, 'The install path may not hold a working cco. Restore it by hand:', `  ${command}`], ExitCode.rollbackFailed, options)
    this.name = 'RollbackFailedError'
    this.command = command
  }
}

/** The message of anything thrown, for logs and wrapped errors. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/** The `code` of a Node.js system error (`ENOENT`, `EACCES`, …), if any. */
export function errnoCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code
  }
  return undefined
}
