// What a failure is called in a fleet report: a short, stable class and the exit code the
// command gives it (client/README.md, "Fleet reports"), from the error's type, its refusal rule,
// its FailureKind and the errno behind it. A pure function of the error: the message, which may
// hold paths, host names or a broker's words, is never sent.
import { CliError, errnoCode, ExitCode, NetworkError, RefusedError, RollbackFailedError, RolledBackError, UsageError, type RefusalRule } from '../errors.ts'
import { UnsafeStateFileError } from '../system/state-file.ts'

export const ERROR_CLASSES = [
  'network',
  'manifest',
  'signature',
  'replay',
  'expired',
  'insecure-url',
  'checksum',
  'archive',
  'self-test',
  'disk',
  'lock',
  'no-asset',
  'no-backup',
  'health',
  'rollback-failed',
  'state-file',
  'config',
  'failure',
  'internal',
] as const
export type ErrorClass = (typeof ERROR_CLASSES)[number]

export interface FailureClass {
  error_class: ErrorClass
  exit_code: number
}

const RULE_CLASS: Readonly<Record<RefusalRule, ErrorClass>> = {
  size: 'manifest',
  format: 'manifest',
  schema: 'manifest',
  payload: 'manifest',
  product: 'manifest',
  channel: 'manifest',
  typ: 'signature',
  signature: 'signature',
  'untrusted-key': 'signature',
  seq: 'replay',
  expired: 'expired',
  'insecure-url': 'insecure-url',
  digest: 'checksum',
  archive: 'archive',
}

/** A full disk, a quota, a read-only or foreign-owned install directory, an I/O error. */
const DISK_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EFBIG', 'EMFILE', 'ENFILE'])

/** The errno of the error or of anything in its `cause` chain. */
function errnoInChain(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = errnoCode(e)
    if (code) return code
  }
  return undefined
}

export function failureClassOf(err: unknown): FailureClass {
  const exit_code = err instanceof CliError ? err.exitCode : ExitCode.failure
  const named = (error_class: ErrorClass): FailureClass => ({ error_class, exit_code })
  if (err instanceof RollbackFailedError) return named('rollback-failed')
  // The new binary failed its `--version` after the swap and the backup is back (exit 5).
  if (err instanceof RolledBackError) return named('self-test')
  if (err instanceof RefusedError) return named(RULE_CLASS[err.rule])
  if (err instanceof NetworkError) return named('network')
  if (err instanceof CliError && err.kind) return named(err.kind)
  if (err instanceof UnsafeStateFileError) return named('state-file')
  if (err instanceof UsageError) return named('config')
  const code = errnoInChain(err)
  if (code && DISK_ERRNOS.has(code)) return named('disk')
  return named(err instanceof CliError ? 'failure' : 'internal')
}
