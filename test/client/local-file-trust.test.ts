// Files that decide what cco trusts (config.toml when it sets updates.server, network.* or
// [[trust.keys]], the CA bundle of network.ca_file, the admin token file) are refused (exit 2)
// when someone else can change them or a directory above them, as OpenSSH's StrictModes does:
// real cco processes, real files and owners in temp dirs (the tests run as root, so other
// owners are real uids).
import { chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../client/src/config/load.ts'
import { CliError } from '../../client/src/errors.ts'
import { adminToken } from '../../client/src/release/session.ts'
import { inspectFileTrust } from '../../client/src/system/file-trust.ts'
import { readTrust } from '../../client/src/update/trust-store.ts'
import { testApp } from '../support/app-context.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { otherUserSkip } from '../support/other-users.ts'

const KEY = '[[trust.keys]]\nkid = "prod-2026"\nx = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"\n'
const SERVER = '[updates]\nserver = "https://releases.example.com"\n'
const NOBODY = 65534
const OTHER_USER = 1000
const asRoot = process.getuid?.() === 0

let bin: string
beforeAll(async () => {
  bin = await clientBundle({ version: '2026.1.1' })
}, 60_000)

let h: CcoHome
beforeEach(() => {
  h = makeHome('cco-trust-')
  return () => h.cleanup()
})

function write(text: string, mode = 0o644): void {
  mkdirSync(dirname(h.configFile), { recursive: true })
  writeFileSync(h.configFile, text)
  chmodSync(h.configFile, mode)
}

const cco = (args: string[], o: { uid?: number; env?: Record<string, string> } = {}) => runCco(bin, args, { home: h.home, ...o, ...(o.uid !== undefined ? { gid: o.uid } : {}) })

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid)
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name)
    if (e.isDirectory()) chownTree(p, uid)
    else chownSync(p, uid, uid)
  }
}

describe('a config file that sets what cco trusts', () => {
  it('is refused with exit 2 when it is group-writable, naming the file and the chmod that fixes it', async () => {
    write(`${SERVER}\n${KEY}`, 0o664)
    for (const args of [['config', 'show'], ['config', 'get', 'updates.channel'], ['update', '--check'], ['daemon', 'start']]) {
      const r = await cco(args)
      expect(r.code, `${args.join(' ')}\n${show(r)}`).toBe(2)
      expect(r.stderr).toContain(`refusing config file ${h.configFile}: it sets updates.server, trust.keys`)
      expect(r.stderr).toContain(`${h.configFile} is writable by group (mode 0664)`)
      expect(r.stderr).toContain(`Fix with: chmod go-w ${h.configFile}`)
    }
    // `cco version` reports on a broken config without using any of it.
    const version = await cco(['version'])
    expect(version.stdout).toContain('Server: (config unreadable)')
    expect(version.stderr).toContain(`refusing config file ${h.configFile}`)
    chmodSync(h.configFile, 0o644)
    const fixed = await cco(['config', 'get', 'updates.server'])
    expect(fixed.code, show(fixed)).toBe(0)
    expect(fixed.stdout).toBe('updates.server = https://releases.example.com\n')
  })

  it('is refused for each trust-bearing key on its own: network.proxy, network.no_proxy, network.ca_file, trust.keys', async () => {
    for (const [text, key] of [
      ['[network]\nproxy = "http://proxy.corp:3128"\n', 'network.proxy'],
      ['[network]\nno_proxy = "example.com"\n', 'network.no_proxy'],
      [`[network]\nca_file = "${join(h.home, 'ca.pem')}"\n`, 'network.ca_file'],
      [KEY, 'trust.keys'],
    ]) {
      write(text!, 0o646)
      const r = await cco(['config', 'show'])
      expect(r.code, show(r)).toBe(2)
      expect(r.stderr).toContain(`it sets ${key}`)
      expect(r.stderr).toContain('is writable by others (mode 0646)')
    }
  })

  it('is refused when its directory is world-writable, naming the directory', async () => {
    write(SERVER)
    const dir = dirname(h.configFile)
    chmodSync(dir, 0o777)
    const r = await cco(['config', 'show'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain(`${dir} is writable by group and others (mode 0777)`)
    expect(r.stderr).toContain(`chmod go-w ${dir}`)
    // Not even with the sticky bit: it is the file's own directory.
    chmodSync(dir, 0o1777)
    expect((await cco(['config', 'show'])).code).toBe(2)
    chmodSync(dir, 0o755)
    expect((await cco(['config', 'show'])).code).toBe(0)
  })

  it('is refused when a directory above it, up to the home directory, is group-writable', async () => {
    write(KEY)
    chmodSync(join(h.home, '.config'), 0o775)
    const r = await cco(['config', 'show'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain(`${join(h.home, '.config')} is writable by group (mode 0775)`)
    chmodSync(join(h.home, '.config'), 0o755)
    chmodSync(h.home, 0o770)
    const home = await cco(['config', 'show'])
    expect(home.code, show(home)).toBe(2)
    expect(home.stderr).toContain(`${h.home} is writable by group (mode 0770)`)
  })

  it.runIf(asRoot)('is refused when another user owns it (the fix is a chown); a root-owned one is accepted', async () => {
    write(`${SERVER}\n${KEY}`)
    chownSync(h.configFile, OTHER_USER, OTHER_USER)
    const r = await cco(['config', 'show'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain(`${h.configFile} is owned by uid ${OTHER_USER}, not by you (root) or root`)
    expect(r.stderr).toContain(`Fix with: chown root ${h.configFile}`)
    // The directory owned by someone else is refused the same way.
    chownSync(h.configFile, 0, 0)
    chownSync(dirname(h.configFile), OTHER_USER, OTHER_USER)
    const dir = await cco(['config', 'show'])
    expect(dir.code, show(dir)).toBe(2)
    expect(dir.stderr).toContain(`${dirname(h.configFile)} is owned by uid ${OTHER_USER}`)
  })

  it.skipIf(otherUserSkip() !== null)(`as an unprivileged user, accepts a root-owned config and refuses one owned by a third user${otherUserSkip() ? ` (skipped: ${otherUserSkip()})` : ''}`, async () => {
    // An unprivileged user whose home and config dir are theirs: a root-owned config is fine
    // (as in OpenSSH), one owned by a third user is not.
    write(`${SERVER}\n${KEY}`)
    chownTree(h.home, NOBODY)
    chownSync(h.configFile, 0, 0)
    const rootOwned = await cco(['config', 'get', 'updates.server'], { uid: NOBODY })
    expect(rootOwned.code, show(rootOwned)).toBe(0)
    chownSync(h.configFile, OTHER_USER, OTHER_USER)
    const third = await cco(['config', 'get', 'updates.server'], { uid: NOBODY })
    expect(third.code, show(third)).toBe(2)
    expect(third.stderr).toContain(`is owned by uid ${OTHER_USER}, not by you (nobody) or root`)
    expect(third.stderr).toContain(`Fix with: sudo chown nobody ${h.configFile}`)
  })

  it('is judged by the file it links to (a dotfiles symlink), directories included', async () => {
    const dotfiles = mkdtempSync(join(h.home, 'dotfiles-'))
    writeFileSync(join(dotfiles, 'cco.toml'), SERVER)
    mkdirSync(dirname(h.configFile), { recursive: true })
    symlinkSync(join(dotfiles, 'cco.toml'), h.configFile)
    expect((await cco(['config', 'show'])).code).toBe(0)
    chmodSync(dotfiles, 0o777)
    const r = await cco(['config', 'show'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain(`refusing config file ${h.configFile} (${join(dotfiles, 'cco.toml')})`)
    expect(r.stderr).toContain(`chmod go-w ${dotfiles}`)
  })

  it.runIf(asRoot)("is refused through a symlink that someone else owns, even when it points at a safe file", async () => {
    // An attacker's link in sticky /tmp, pointing at a root-owned file for the check, could be
    // re-pointed at their own file right after it.
    const safe = join(h.home, 'safe.toml')
    writeFileSync(safe, SERVER)
    const box = mkdtempSync(join(tmpdir(), 'cco-links-'))
    try {
      chmodSync(box, 0o1777)
      const link = join(box, 'config.toml')
      symlinkSync(safe, link)
      expect(inspectFileTrust(safe).problems).toEqual([])
      lchownSync(link, OTHER_USER, OTHER_USER)
      const ca = join(box, 'ca-dir')
      symlinkSync(h.home, ca)
      lchownSync(ca, OTHER_USER, OTHER_USER)
      writeFileSync(join(h.home, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n')
      write(`[network]\nca_file = "${join(ca, 'ca.pem')}"\n`)
      const viaDir = await cco(['config', 'show'])
      expect(viaDir.code, show(viaDir)).toBe(2)
      expect(viaDir.stderr).toContain(`${ca} is owned by uid ${OTHER_USER}`)
      expect(viaDir.stderr).toContain(`chown -h root ${ca}`)
      rmSync(h.configFile)
      mkdirSync(join(h.home, 'xdg'))
      symlinkSync(box, join(h.home, 'xdg', 'cco'))
      const viaFile = await cco(['config', 'show'], { env: { XDG_CONFIG_HOME: join(h.home, 'xdg') } })
      expect(viaFile.code, show(viaFile)).toBe(2)
      // Named as it was reached: through the XDG link, in the sticky box (its own directory).
      expect(viaFile.stderr).toContain(`${join(h.home, 'xdg', 'cco', 'config.toml')} is owned by uid ${OTHER_USER}`)
      expect(viaFile.stderr).toContain(`${box} is writable by group and others (mode 1777)`)
    } finally {
      rmSync(box, { recursive: true, force: true })
    }
  })

  it('is accepted under a sticky world-writable directory above its own (XDG_CONFIG_HOME in /tmp)', async () => {
    const xdg = mkdtempSync(join(tmpdir(), 'cco-xdg-'))
    try {
      mkdirSync(join(xdg, 'cco'))
      writeFileSync(join(xdg, 'cco', 'config.toml'), SERVER)
      // HOME elsewhere: the walk goes up to / and meets /tmp (1777).
      expect(statSync(tmpdir()).mode & 0o1777).toBe(0o1777)
      const r = await cco(['config', 'get', 'updates.server'], { env: { XDG_CONFIG_HOME: xdg } })
      expect(r.code, show(r)).toBe(0)
      chmodSync(xdg, 0o777)
      const open = await cco(['config', 'get', 'updates.server'], { env: { XDG_CONFIG_HOME: xdg } })
      expect(open.code, show(open)).toBe(2)
      expect(open.stderr).toContain(`${xdg} is writable by group and others (mode 0777)`)
    } finally {
      rmSync(xdg, { recursive: true, force: true })
    }
  })
})

describe('a config file that sets nothing trust-bearing', () => {
  it('is still read when others can write it (schedule, channel, port)', async () => {
    write('[updates]\nchannel = "beta"\ncheck_interval = "weekly"\n\n[daemon]\nport = 3111\n', 0o666)
    chmodSync(dirname(h.configFile), 0o777)
    const r = await cco(['config', 'get', 'updates.channel'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toBe('updates.channel = beta\n')
  })

  it('cannot be given a trust-bearing key by `config set` while its directory is open to others', async () => {
    write('[updates]\nchannel = "beta"\n', 0o644)
    chmodSync(dirname(h.configFile), 0o777)
    const before = readFileSync(h.configFile, 'utf8')
    const r = await cco(['config', 'set', 'updates.server', 'https://evil.example.com'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain(`refusing config file ${h.configFile}: it sets updates.server`)
    expect(r.stderr).toContain(`chmod go-w ${dirname(h.configFile)}`)
    expect(readFileSync(h.configFile, 'utf8')).toBe(before)
  })

  it('is rewritten without group or other write by `config set`, so the key it adds is then trusted', async () => {
    write('[updates]\nchannel = "beta"\n', 0o664)
    const r = await cco(['config', 'set', 'updates.server', 'https://releases.example.com'])
    expect(r.code, show(r)).toBe(0)
    expect(statSync(h.configFile).mode & 0o777).toBe(0o644)
    expect((await cco(['config', 'get', 'updates.server'])).stdout).toBe('updates.server = https://releases.example.com\n')
  })
})

describe('directories cco creates', () => {
  it('are never group-writable, even under a 002 umask, so that its own config is trusted', async () => {
    const set = await runCco('/bin/sh', ['-c', `umask 002; exec ${bin} config set updates.server https://releases.example.com`], { home: h.home })
    expect(set.code, show(set)).toBe(0)
    expect(statSync(join(h.home, '.config')).mode & 0o777).toBe(0o755)
    expect(statSync(dirname(h.configFile)).mode & 0o777).toBe(0o755)
    expect(statSync(h.configFile).mode & 0o777).toBe(0o644)
    const get = await runCco('/bin/sh', ['-c', `umask 002; exec ${bin} config get updates.server`], { home: h.home })
    expect(get.stdout, show(get)).toBe('updates.server = https://releases.example.com\n')
  })
})

describe('the CA bundle named by network.ca_file', () => {
  it('is refused when others can change it, in the config that names it', async () => {
    const ca = join(h.home, 'corp-ca.pem')
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n')
    chmodSync(ca, 0o666)
    write(`[network]\nca_file = "${ca}"\n`)
    const r = await cco(['config', 'show'])
    expect(r.code, show(r)).toBe(2)
    expect(r.stderr).toContain(`refusing network.ca_file ${ca}: it decides which TLS certificates cco trusts (set in ${h.configFile})`)
    expect(r.stderr).toContain(`Fix with: chmod go-w ${ca}`)
    expect(() => loadConfig(h.configFile)).toThrow(/refusing network\.ca_file/)
    chmodSync(ca, 0o644)
    expect(loadConfig(h.configFile).config.network.ca_file).toBe(ca)
  })
})

describe('the admin token file', () => {
  it('is refused (exit 2) when others can write it, and only warned about when they can read it', () => {
    const app = testApp(h.home)
    const file = join(h.home, 'token')
    writeFileSync(file, 'tok-123\n')
    chmodSync(file, 0o620)
    let err: unknown
    try {
      adminToken(app, file)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(CliError)
    expect((err as CliError).exitCode).toBe(2)
    expect((err as CliError).message).toContain(`refusing token file ${file}: it holds the admin token cco sends, but others can change it: ${file} is writable by group (mode 0620). Fix with: chmod go-w ${file}`)
    chmodSync(file, 0o640)
    expect(adminToken(app, file)).toBe('tok-123')
    expect(app.out.stderr).toContain(`warning: token file ${file} is readable by other users (mode 0640)`)
  })
})

describe('the trust state (last accepted manifest)', () => {
  it('is refused (exit 2) when others could change or delete it, before it is read', () => {
    const trustDir = join(h.stateDir, 'trust')
    mkdirSync(trustDir, { recursive: true })
    const state = { seq: 7, sha256: 'a'.repeat(64), etag: null, server: 'https://releases.example.com', accepted_at: '2026-01-01T00:00:00Z' }
    writeFileSync(join(trustDir, 'stable.json'), JSON.stringify(state))
    expect(readTrust(trustDir, 'stable', state.server).state?.seq).toBe(7)
    chmodSync(trustDir, 0o777)
    expect(() => readTrust(trustDir, 'stable', state.server)).toThrow(`refusing trust state ${join(trustDir, 'stable.json')}: it holds the last accepted manifest (rollback protection), but others can change it: ${trustDir} is writable by group and others (mode 0777). Fix with: chmod go-w ${trustDir}`)
    chmodSync(trustDir, 0o755)
    chmodSync(join(trustDir, 'stable.json'), 0o666)
    let err: unknown
    try {
      readTrust(trustDir, 'stable', state.server)
    } catch (e) {
      err = e
    }
    expect((err as CliError).exitCode).toBe(2)
  })
})

describe('inspectFileTrust (the one rule)', () => {
  it('reports every problem on the way up, file first, with one fix each', () => {
    const base = mkdtempSync(join(h.home, 'rule-'))
    const dir = join(base, 'a', 'b')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'f')
    writeFileSync(file, 'x')
    chmodSync(file, 0o666)
    chmodSync(join(base, 'a'), 0o775)
    const t = inspectFileTrust(file, { home: h.home })
    expect(t.problems).toEqual([`${file} is writable by group and others (mode 0666)`, `${join(base, 'a')} is writable by group (mode 0775)`])
    expect(t.fixes).toEqual([`chmod go-w ${file}`, `chmod go-w ${join(base, 'a')}`])
    // A missing file is judged by the directories that would hold it.
    expect(inspectFileTrust(join(dir, 'missing'), { home: h.home }).problems).toEqual([`${join(base, 'a')} is writable by group (mode 0775)`])
    expect(inspectFileTrust(join(dir, 'missing'), { home: h.home }).exists).toBe(false)
  })

  it('quotes a path with spaces in the fix', () => {
    const dir = join(h.home, "it's here")
    mkdirSync(dir)
    const file = join(dir, 'config.toml')
    writeFileSync(file, 'x')
    chmodSync(file, 0o664)
    expect(inspectFileTrust(file, { home: h.home }).fixes).toEqual([`chmod go-w '${h.home}/it'\\''s here/config.toml'`])
  })
})

afterAll(() => {})
