// GET /install.sh: the installer with this broker's address, product, channels and signing keys
// written in (as single-quoted sh words that no configured value can break out of), served as
// a shell script. Running it is tested end to end (test/e2e/install-sh.test.ts).
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { createApp } from '../../worker/app.ts'
import template from '../../worker/install/install.sh'
import { renderInstallScript, shellQuote, spkiBase64 } from '../../worker/install/render.ts'
import { BROKER, getManifest, publish } from './helpers.ts'
import testKeys from './fixtures/test-signing-keys.json' with { type: 'json' }

/** The value of `NAME='…'` in a script, read back the way sh reads one single-quoted word with `'\''` joins. */
function settingOf(script: string, name: string): string {
  const lines = script.split('\n').filter((l) => l.startsWith(`${name}=`))
  expect(lines, name).toHaveLength(1)
  const word = lines[0]!.slice(name.length + 1)
  // Only single-quoted runs joined by \' may appear: then nothing in it is code.
  expect(word).toMatch(/^'[^']*'(?:\\''[^']*')*$/)
  return word.replace(/'\\''/g, "'").slice(1, -1)
}

async function served(): Promise<{ res: Response; script: string }> {
  const res = await exports.default.fetch(`${BROKER}/install.sh`)
  return { res, script: await res.text() }
}

describe('the served install script', () => {
  it('is a POSIX sh script with the broker URL, product, channels and keys filled in', async () => {
    const { res, script } = await served()
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/x-shellscript; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('public, max-age=300')
    expect(script.startsWith('#!/bin/sh\n')).toBe(true)
    expect(settingOf(script, 'CCO_BROKER_URL')).toBe(BROKER)
    expect(settingOf(script, 'CCO_PRODUCT')).toBe('cco')
    expect(settingOf(script, 'CCO_CHANNELS')).toBe('stable beta')
    expect(settingOf(script, 'CCO_TRUSTED_KEYS')).toBe(spkiBase64(testKeys.primary.x))
    // Everything else is the template as written.
    expect(script.split('\n').length).toBe(template.split('\n').length)
    expect(script.endsWith('\nmain "$@"\n')).toBe(true)
  })

  it("carries exactly the keys of the broker's JWKS, as SPKI that verifies the broker's manifests", async () => {
    await publish('2026.11.1')
    const { body } = await getManifest('beta')
    const jws = JSON.parse(body) as { payload: string; signatures: { protected: string; signature: string }[] }
    const jwks = (await (await exports.default.fetch(`${BROKER}/.well-known/jwks.json`)).json()) as { keys: { x: string }[] }
    const { script } = await served()
    const keys = settingOf(script, 'CCO_TRUSTED_KEYS').split(' ')
    expect(keys).toEqual(jwks.keys.map((k) => spkiBase64(k.x)))

    // What `openssl pkeyutl -verify -pubin -rawin` does with the PEM the script writes.
    const spki = Uint8Array.from(atob(keys[0]!), (ch) => ch.charCodeAt(0))
    const key = await crypto.subtle.importKey('spki', spki, { name: 'Ed25519' }, false, ['verify'])
    const sig = jws.signatures[0]!
    const signature = Uint8Array.from(atob(sig.signature.replace(/-/g, '+').replace(/_/g, '/') + '=='), (ch) => ch.charCodeAt(0))
    const input = new TextEncoder().encode(`${sig.protected}.${jws.payload}`)
    expect(await crypto.subtle.verify('Ed25519', key, signature, input)).toBe(true)
    expect(await crypto.subtle.verify('Ed25519', key, signature, new TextEncoder().encode(`${sig.protected}.${jws.payload}x`))).toBe(false)
  })

  it('lists every key during a rotation', async () => {
    const second = { ...testKeys.primary, kid: 'test-key-b' }
    const app = createApp()
    const res = await app.request('/install.sh', {}, { ...env, MANIFEST_SIGNING_KEY: JSON.stringify([testKeys.primary, second]) })
    expect(res.status).toBe(200)
    expect(settingOf(await res.text(), 'CCO_TRUSTED_KEYS')).toBe(`${spkiBase64(testKeys.primary.x)} ${spkiBase64(second.x)}`)
  })

  it('keeps a PUBLIC_URL with quotes, $(…), backticks and ; inside its quoting', async () => {
    // All of these survive the broker's URL rule (they are legal in a URL path).
    const hostile = "https://broker.test/a'b$(touch${IFS}x)`id`;c|d&e'\\'"
    const res = await createApp().request('/install.sh', {}, { ...env, PUBLIC_URL: hostile })
    expect(res.status).toBe(200)
    const script = await res.text()
    const url = settingOf(script, 'CCO_BROKER_URL')
    expect(url).toBe(new URL(hostile).href)
    expect(url).toContain("'")
    expect(url).toContain('$(')
  })

  it('refuses to serve without signing keys: a misconfigured broker, never a script that trusts nothing', async () => {
    const res = await createApp().request('/install.sh', {}, { ...env, MANIFEST_SIGNING_KEY: '' })
    expect(res.status).toBe(500)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('misconfigured')
  })
})

describe('renderInstallScript', () => {
  it('quotes any text as one single-quoted word', () => {
    for (const text of ['', "'", "''", "a'b", "$(x)'`y`'\\", ' spaces  and\ttab', 'ünïcode']) {
      const quoted = shellQuote(text)
      expect(quoted).toMatch(/^'[^']*'(?:\\''[^']*')*$/)
      expect(quoted.replace(/'\\''/g, "'").slice(1, -1)).toBe(text)
    }
  })

  it('refuses a setting with a line break, and a template whose setting lines are missing or doubled', () => {
    const settings = { brokerUrl: 'https://b.test', product: 'cco', channels: ['stable'], keys: [testKeys.primary.x] }
    expect(() => renderInstallScript(template, { ...settings, brokerUrl: 'https://b.test\nrm -rf ~' })).toThrow(/one line/)
    expect(() => renderInstallScript(template.replace("\nCCO_TRUSTED_KEYS=''\n", '\n'), settings)).toThrow(/CCO_TRUSTED_KEYS/)
    expect(() => renderInstallScript(`${template}CCO_PRODUCT=''\n`, settings)).toThrow(/CCO_PRODUCT/)
    expect(() => renderInstallScript(template, { ...settings, keys: ['not-a-key'] })).toThrow(/32 bytes/)
  })
})
