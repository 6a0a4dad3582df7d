import { expect, it } from 'vitest'
import { getManifest, publish } from './helpers.ts'

it('publishes a release to beta and signs its manifest', async () => {
  const r = await publish('2026.11.1')
  expect(r.channels.beta).toBe(1)
  const m = await getManifest('beta')
  expect(m.payload.release?.version).toBe('2026.11.1')
  console.log(JSON.stringify(m.payload, null, 1))
})
