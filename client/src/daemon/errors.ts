// The daemon's own refusal: `cco daemon status` and `cco health` follow the LSB convention
// (exit 3 = program is not running) rather than the "network" meaning of 3 elsewhere in cco.
import { CliError, ExitCode } from '../errors.ts'

export const EXIT_NOT_RUNNING = ExitCode.network

export class DaemonNotRunningError extends CliError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_NOT_RUNNING, options)
    this.name = 'DaemonNotRunningError'
  }
}
