// Builds installed by a package manager (`--managed-by CMD` at build time): cco never replaces
// their file, and says which command upgrades it instead, as gh does under Homebrew.
//
// The package manager owns that file: its database records the version and checksum, and its
// next upgrade would overwrite (or trip over) a binary cco had swapped in. So `cco update`
// still checks, and refuses to install; the daemon checks and never installs.
import { MANAGED_BY } from '../build-info.ts'
import { CliError, ExitCode } from '../errors.ts'

/** The upgrade command of a managed build, or null when cco updates itself. */
export function managedUpgradeCommand(): string | null {
  return MANAGED_BY
}

/** Why a `--managed-by` value cannot be built in, or null: one line of printable ASCII, at most 200 characters. */
export function managedByProblem(value: string): string | null {
  if (value.trim() === '') return 'it is empty (give the command that upgrades cco, e.g. "brew upgrade cco")'
  if (value.length > 200) return 'it is longer than 200 characters'
  if (!/^[\x20-\x7e]+$/.test(value)) return 'it may hold only printable ASCII characters (no newlines or control characters)'
  return null
}

const installedBy = (upgrade: string) => `cco was installed by a package manager and does not replace itself; upgrade it with: ${upgrade}`

/**
 * `cco update` asked to install, on a managed build, after a check: a result with nothing to
 * install passes through (exit 0); one with a newer release (or one without an archive for this
 * platform) is refused with the upgrade command, exit 1 (nothing was changed, as for every
 * update that did not happen).
 */
export function refuseManagedInstall<T extends { status: string; latest_version: string | null }>(upgrade: string, checked: T): T {
  if (checked.status !== 'available' && checked.status !== 'no-asset') return checked
  throw new CliError(`Not installing ${checked.latest_version ?? 'the update'}: ${installedBy(upgrade)}`, ExitCode.failure)
}

/**
 * The daemon's line after a check that found an update it does not install: on a managed build
 * (whatever `updates.auto_install` says), or with `updates.auto_install = false`.
 */
export function notInstallingLine(): string {
  const upgrade = managedUpgradeCommand()
  if (upgrade !== null) return `Not installing automatically: ${installedBy(upgrade)}`
  return 'updates.auto_install is false: install it with `cco update`'
}
