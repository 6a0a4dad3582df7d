// Control characters (CR, LF, NUL, ESC, DEL, C1 such as NEL, U+2028) and unpaired surrogates in
// the strings the broker keeps: a release carrying one in any kept field but its notes is
// refused at ingest, by webhook and by reconciliation alike, with the reason recorded and
// nothing stored that still holds the character; notes keep tabs and line breaks and lose the
// rest; admin reasons with one are refused; and a download URL recorded by an older broker with
// a CR LF is answered with an error, never put into a Location header (workerd would turn that
// into a bare 500).
import { reset, runInDurableObject } from 'cloudflare:test'
import { exports } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { escapeControlChars } from '../../worker/policy/control-chars.ts'
import { releasePayload, type ReleasePayloadOptions } from '../../support/github.ts'
import { BROKER, adminPost, archive, archives, auditLog, fakeNetwork, getManifest, postWebhook, publish, stateSnapshot, stub } from './helpers.ts'

afterEach(async () => {
  vi.restoreAllMocks()
  await reset()
})

/** The characters every field is tried with. */
const CHARS: Record<string, string> = {
  CR: '\r',
  LF: '\n',
  'CR LF': '\r\n',
  TAB: '\t',
  NUL: '\u0000',
  ESC: '\u001b',
  DEL: '\u007f',
  NEL: '\u0085',
  CSI: '\u009b',
  LS: '\u2028',
  PS: '\u2029',
  'lone surrogate': '\ud800',
}
const CODE: Record<string, string> = {
  CR: 'U+000D', LF: 'U+000A', 'CR LF': 'U+000D', TAB: 'U+0009', NUL: 'U+0000', ESC: 'U+001B', DEL: 'U+007F', NEL: 'U+0085', CSI: 'U+009B', LS: 'U+2028', PS: 'U+2029', 'lone surrogate': 'U+D800',
}

/** Anything that must never be stored or served outside the notes (U+FFFD: a lone surrogate that reached SQLite). */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

type Release = Record<string, any>
/** How a field of a release payload gets the character. */
const FIELDS: Record<string, (r: Release, c: string) => void> = {
  tag_name: (r, c) => (r.tag_name = `${r.tag_name}${c}`),
  html_url: (r, c) => (r.html_url = `${r.html_url}${c}x`),
  published_at: (r, c) => (r.published_at = `2026-11-01T00:00:00Z${c}`),
  created_at: (r, c) => (r.created_at = `2026-11-01T00:00:00Z${c}`),
  'asset name': (r, c) => (r.assets[0].name = r.assets[0].name.replace('.tar.gz', `${c}.tar.gz`)),
  'asset browser_download_url': (r, c) => (r.assets[0].browser_download_url = `${r.assets[0].browser_download_url}${c}Set-Cookie: a=b`),
  'asset digest': (r, c) => (r.assets[0].digest = `${r.assets[0].digest}${c}`),
  'asset state': (r, c) => (r.assets[0].state = `uploaded${c}`),
  'a second, unused asset name': (r, c) => r.assets.push({ ...r.assets[0], id: r.assets[0].id + 50, name: `sbom${c}.json` }),
}
const REASON: Record<string, RegExp> = {
  tag_name: /^tag_name contains/,
  html_url: /^html_url contains/,
  published_at: /^published_at contains/,
  created_at: /^created_at contains/,
  'asset name': /^asset 1: name contains/,
  'asset browser_download_url': /^asset "cco-2026\.11\.\d+-linux-x86_64\.tar\.gz": browser_download_url contains/,
  'asset digest': /^asset "cco-2026\.11\.\d+-linux-x86_64\.tar\.gz": digest contains/,
  'asset state': /^asset "cco-2026\.11\.\d+-linux-x86_64\.tar\.gz": state contains/,
  'a second, unused asset name': /^asset 3: name contains/,
}

function allStrings(x: unknown, out: string[] = []): string[] {
  if (typeof x === 'string') out.push(x)
  else if (Array.isArray(x)) for (const v of x) allStrings(v, out)
  else if (x && typeof x === 'object') for (const v of Object.values(x)) allStrings(v, out)
  return out
}

/** A release's `release` object with the field spoiled, plus what the broker should call it. */
async function spoiled(version: string, field: string, c: string, o: Partial<ReleasePayloadOptions> = {}) {
  const payload = releasePayload({ action: 'published', tag: `v${version}`, assets: await archives(version), ...o })
  FIELDS[field]!(payload.release as Release, c)
  return payload
}

/** Every stored row and audit entry, as text, with notes (which may keep tabs and line breaks) left out. */
async function storedText(): Promise<string[]> {
  return runInDurableObject(stub(), (_instance, state) => {
    const out: string[] = []
    for (const row of state.storage.sql.exec('SELECT * FROM releases').toArray()) {
      for (const [column, value] of Object.entries(row)) {
        if (typeof value !== 'string' || column === 'notes') continue
        if (column === 'source' || column === 'assets' || column === 'mirror_content') {
          const parsed = JSON.parse(value) as Record<string, unknown>
          if (column === 'source') delete parsed.body
          out.push(...allStrings(parsed))
        } else out.push(value)
      }
    }
    for (const row of state.storage.sql.exec('SELECT actor, action, target, detail FROM audit').toArray()) out.push(...allStrings({ ...row, detail: JSON.parse(String(row.detail)) }))
    return out
  })
}

/** Each channel's seq and exact signed bytes. */
async function channelsNow() {
  const manifests = await Promise.all((['stable', 'beta'] as const).map(async (c) => (await stub().manifest(c)).body))
  return { seqs: (await stub().channelStates()).map((c) => [c.channel, c.seq, c.version]), manifests }
}

async function releasesListed(): Promise<Release[]> {
  const res = await exports.default.fetch(`${BROKER}/v1/releases`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { releases: Release[] }).releases
}

describe('a control character in a kept field of a release', () => {
  it('refuses the release through a signed webhook, records why, stores no such character and changes no channel', async () => {
    await publish('2026.11.1')
    const before = await channelsNow()
    let minor = 1
    for (const [field, reason] of Object.entries(REASON)) {
      for (const [name, c] of Object.entries(CHARS)) {
        const what = `${field} with ${name}`
        const version = `2026.11.${++minor}`
        const res = await postWebhook(JSON.stringify(await spoiled(version, field, c)))
        expect(res.status, what).toBe(200)
        const body = (await res.json()) as Release
        expect(body, what).toMatchObject({ status: 'refused', reason: expect.stringMatching(reason) })
        expect(body.reason, what).toContain(`contains ${name === 'lone surrogate' ? 'an unpaired surrogate' : 'a control character'} (${CODE[name]})`)
        expect(body.reason, what).not.toMatch(UNSAFE)

        // Recorded like every refusal, under the escaped tag when the tag itself was bad.
        const key = field === 'tag_name' ? escapeControlChars(`v${version}${c}`) : version
        const listed = (await releasesListed()).find((r) => r.version === key)
        expect(listed, what).toMatchObject({ status: 'refused', reason: body.reason, channels: [], assets: {} })
      }
    }
    expect(await channelsNow()).toEqual(before)
    expect((await releasesListed()).find((r) => r.version === '2026.11.1')).toMatchObject({ status: 'live', reason: null })
    for (const s of [...(await storedText()), ...allStrings(await releasesListed())]) expect(s).not.toMatch(UNSAFE)
  })

  it('refuses an update of a live release that carries one, which keeps serving what it served', async () => {
    await publish('2026.11.1')
    const before = await channelsNow()
    const asset = (await stub().getRelease('2026.11.1'))!.assets['linux-x86_64']!
    for (const field of ['asset browser_download_url', 'asset name', 'html_url']) {
      for (const [name, c] of Object.entries(CHARS)) {
        const payload = await spoiled('2026.11.1', field, c, { action: 'edited' })
        const res = await postWebhook(JSON.stringify(payload))
        const body = (await res.json()) as Release
        expect(body, `${field} with ${name}`).toMatchObject({ status: 'refused', reason: expect.stringMatching(REASON[field]!) })
        expect(await stub().getRelease('2026.11.1'), `${field} with ${name}`).toMatchObject({ status: 'live', reason: body.reason, channels: ['beta'] })
      }
    }
    expect(await channelsNow()).toEqual(before)
    // Its asset is still redirected to the URL recorded before.
    const res = await exports.default.fetch(`${BROKER}/v1/assets/2026.11.1/${asset.sha256}/${asset.name}`, { redirect: 'manual' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(asset.source_url)
    for (const s of await storedText()) expect(s).not.toMatch(UNSAFE)
  })

  it('refuses it through reconciliation alike, and a later list with the same releases applies nothing again', async () => {
    await publish('2026.11.1')
    const before = await channelsNow()
    const listed: Release[] = [(releasePayload({ action: 'published', tag: 'v2026.11.1', assets: await archives('2026.11.1') }).release as Release)]
    let minor = 1
    const expected: [string, RegExp][] = []
    for (const [field, reason] of Object.entries(REASON)) {
      for (const name of ['CR LF', 'NUL', 'ESC', 'DEL', 'NEL', 'LS', 'lone surrogate']) {
        const version = `2026.11.${++minor}`
        listed.push((await spoiled(version, field, CHARS[name]!)).release as Release)
        expected.push([field === 'tag_name' ? escapeControlChars(`v${version}${CHARS[name]}`) : version, reason])
      }
    }
    let etag = '"list-1"'
    const list = `https://api.github.test/repos/cco-dev/cco/releases?per_page=100`
    fakeNetwork({ [list]: () => new Response(JSON.stringify(listed), { headers: { etag, 'content-type': 'application/json' } }) })

    const first = await stub().reconcile()
    expect(first).toMatchObject({ outcome: 'applied', channels: {} })
    expect(first.applied).toHaveLength(expected.length)
    const releases = await releasesListed()
    for (const [version, reason] of expected) {
      expect(releases.find((r) => r.version === version), version).toMatchObject({ status: 'refused', reason: expect.stringMatching(reason) })
    }
    expect(await channelsNow()).toEqual(before)
    for (const s of [...(await storedText()), ...allStrings(releases)]) expect(s).not.toMatch(UNSAFE)

    // The stored (screened) payloads equal the list's once screened: nothing to apply again.
    const audit = (await auditLog()).length
    etag = '"list-2"'
    expect(await stub().reconcile()).toMatchObject({ outcome: 'applied', applied: [], withdrawn: [] })
    expect((await auditLog()).length).toBe(audit)
  })

  it('still withdraws a release whose deletion payload carries one', async () => {
    await publish('2026.11.1')
    const payload = await spoiled('2026.11.1', 'asset browser_download_url', '\r\n', { action: 'deleted' })
    const body = (await (await postWebhook(JSON.stringify(payload))).json()) as Release
    expect(body).toMatchObject({ status: 'withdrawn', version: '2026.11.1' })
    expect((await getManifest('beta')).payload.release).toBeNull()
  })
})

describe('the webhook sender', () => {
  it('is recorded as the audit actor with visible escapes for control characters', async () => {
    const payload = releasePayload({ action: 'published', tag: 'v2026.11.1', assets: await archives('2026.11.1') })
    ;(payload.sender as Release).login = 'octo\r\ncat\u001b[2J\ud800'
    expect((await postWebhook(JSON.stringify(payload))).status).toBe(200)
    const actors = (await auditLog()).map((e) => e.actor)
    expect(actors).toContain('github:octo\\u000D\\u000Acat\\u001B[2J\\uD800')
    for (const s of await storedText()) expect(s).not.toMatch(UNSAFE)
  })
})

describe('release notes', () => {
  it('keep tabs and line breaks; other control characters and unpaired surrogates become U+FFFD', async () => {
    const notes = 'Fixes:\r\n\t- the proxy bug\u001b[31m\u0000\u009b31m\u0085\u007f\u2028end\ud800 café 👩‍💻'
    await publish('2026.11.1', { body: notes })
    const shown = 'Fixes:\r\n\t- the proxy bug\ufffd[31m\ufffd\ufffd31m\ufffd\ufffd\u2028end\ufffd café 👩‍💻'
    expect((await getManifest('beta')).payload.release?.notes).toBe(shown)
    expect((await stub().getRelease('2026.11.1'))?.notes).toBe(shown)
  })
})

describe('a download URL recorded by an older broker with a CR LF', () => {
  it('is answered 502 bad_asset_url, never a 500 or a redirect', async () => {
    await publish('2026.11.1')
    const asset = (await stub().getRelease('2026.11.1'))!.assets['linux-x86_64']!
    await runInDurableObject(stub(), (_instance, state) => {
      const row = state.storage.sql.exec<{ assets: string }>("SELECT assets FROM releases WHERE version = '2026.11.1'").one()
      const assets = JSON.parse(row.assets) as Record<string, { source_url: string }>
      assets['linux-x86_64']!.source_url += '\r\nSet-Cookie: session=evil'
      state.storage.sql.exec("UPDATE releases SET assets = ? WHERE version = '2026.11.1'", JSON.stringify(assets))
    })
    for (const path of [`/v1/assets/2026.11.1/${asset.sha256}/${asset.name}`, `/v1/assets/2026.11.1/${asset.name}`]) {
      const res = await exports.default.fetch(`${BROKER}${path}`, { redirect: 'manual' })
      expect(res.status, path).toBe(502)
      expect(res.headers.get('set-cookie'), path).toBeNull()
      expect(await res.json(), path).toEqual({ error: { code: 'bad_asset_url', message: expect.stringContaining('contains a control character (U+000D)') } })
    }
  })
})

describe('admin reasons', () => {
  it('refuses a yank or halt reason with a control character or an unpaired surrogate, changing nothing', async () => {
    await publish('2026.11.1')
    const before = await stateSnapshot()
    for (const [name, c] of Object.entries(CHARS)) {
      for (const [path, what] of [['/v1/releases/2026.11.1/yank', 'yank'], ['/v1/channels/beta/halt', 'halt']] as const) {
        const r = await adminPost(path, { reason: `crash on start${c}FAKE: all good` })
        expect(r.status, `${what} with ${name}`).toBe(422)
        const message = name === 'lone surrogate' ? 'reason: must be well-formed text (it has an unpaired surrogate)' : 'reason: must be one line without control characters'
        expect(r.body, `${what} with ${name}`).toEqual({ error: { code: 'invalid_request', message } })
      }
    }
    expect(await stateSnapshot()).toEqual(before)
    // Printable text, quotes and other scripts are fine.
    expect((await adminPost('/v1/releases/2026.11.1/yank', { reason: 'corrupts "config" — données perdues 🙈' })).status).toBe(200)
  })
})

describe('assets published after the rule', () => {
  it('record the download URL in its normalized ASCII form, which is what the redirect sends', async () => {
    const a = await archive('2026.11.1', 'linux-x86_64')
    const url = a.url.replace('/cco-dev/cco/', '/cco-dev/cco/é/')
    const r = await postWebhook(JSON.stringify(releasePayload({ action: 'published', tag: 'v2026.11.1', assets: [{ ...a, url }] })))
    expect(r.status).toBe(200)
    const recorded = (await stub().getRelease('2026.11.1'))!.assets['linux-x86_64']!
    expect(recorded.source_url).toBe(url.replace('é', '%C3%A9'))
    const res = await exports.default.fetch(`${BROKER}/v1/assets/2026.11.1/${recorded.sha256}/${recorded.name}`, { redirect: 'manual' })
    expect(res.headers.get('location')).toBe(recorded.source_url)
  })
})
