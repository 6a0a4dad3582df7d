import { expect, it } from 'vitest'
import { compareVersions } from '../../contract/version.ts'
it('orders', () => { expect(compareVersions('2026.1.2', 'v2026.1.10')).toBe(-1) })
