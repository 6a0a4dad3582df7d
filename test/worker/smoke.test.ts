import { SELF, env } from 'cloudflare:test'
import { expect, it } from 'vitest'
it('answers', async () => {
  const r = await SELF.fetch('https://broker.test/')
  expect(await r.text()).toBe('ok')
  expect(env.GITHUB_WEBHOOK_SECRET).toBe('test-webhook-secret')
})
