// Tests that run cco as another user (root ignores file permissions, so some refusals can only
// be seen as an unprivileged user) need that user to reach the Node that runs the test bundles:
// `#!/usr/bin/env node` finds node_modules/.bin/node first on PATH, inside the checkout. A
// checkout in a directory only its owner may enter (`mktemp -d` makes one 0700) hides it, and
// another user would silently get an older system Node instead.
import { statSync } from 'node:fs'
import { dirname } from 'node:path'

/** Whether a user other than the owner may run this test process's Node (every directory above it searchable by others). */
export function othersCanRunNode(): boolean {
  let path = process.execPath
  if ((statSync(path).mode & 0o001) === 0) return false
  for (;;) {
    const parent = dirname(path)
    if (parent === path) return true
    if ((statSync(parent).mode & 0o001) === 0) return false
    path = parent
  }
}

/** Why a test that switches users is skipped here, or null when it can run. */
export const otherUserSkip = (): string | null =>
  process.getuid?.() !== 0 ? 'needs root to run cco as another user' : othersCanRunNode() ? null : `another user cannot reach ${process.execPath} (a directory above it is not searchable by others)`
