// The usage error (exit 2) that `fn` throws, for tests of config validation; fails the test when
// it throws something else or nothing.
import { expect } from 'vitest'
import { UsageError } from '../../client/src/errors.ts'

export function usageError(fn: () => unknown): UsageError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).exitCode).toBe(2)
    return err as UsageError
  }
  throw new Error('expected a UsageError')
}
