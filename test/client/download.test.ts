// Artifact faults: every bad download is refused before anything is renamed, and the private
// temp dir, the archive and the journal are gone afterwards.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Asset } from '../../contract/manifest.ts'
import { ConfigSchema } from '../../client/src/config/schema.ts'
import { CliError } from '../../client/src/errors.ts'
import { createUpdateContext, type UpdateContext } from '../../client/src/update/context.ts'
import { prepareInstall } from '../../client/src/update/prepare.ts'
import { testApp } from '../support/app-context.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { startReleaseServer, type ReleaseServer } from '../../support/release-server.ts'
import { sha256 } from '../../support/signed-manifest.ts'

const OLD = Buffer.from('#!/bin/sh\necho "cco 2026.1.1"\n')
const NEW = Buffer.from('#!/bin/sh\necho "cco 2026.1.2"\n')
const ARCHIVE = releaseTarGz(NEW)

let server: ReleaseServer
let host: CcoHome
let ctx: UpdateContext

beforeAll(async () => {
  server = await startReleaseServer()
})
afterAll(() => server.close())
beforeEach(() => {
  host = makeHome()
  host.install(OLD)
  const app = testApp(host.home)
  ctx = createUpdateContext(app, ConfigSchema.parse({}), app.paths.configFile)
  ctx.downloadStallMs = 400
})
afterEach(async () => {
  await ctx.http.close()
  host.cleanup()
})

function asset(path: string, o: Partial<Asset> = {}): Asset {
  return { name: 'cco-2026.1.2-linux-x86_64.tar.gz', url: `${server.url}${path}`, size: ARCHIVE.length, sha256: sha256(ARCHIVE), ...o }
}

async function expectRefused(a: Asset, message: RegExp, exitCode: number): Promise<void> {
  const err = await prepareInstall(ctx, { version: '2026.1.2', asset: a }).then(
    () => null,
    (e: unknown) => e,
  )
  expect(err, 'the download should have been refused').toBeInstanceOf(CliError)
  expect((err as CliError).message).toMatch(message)
  expect((err as CliError).exitCode).toBe(exitCode)
  // Nothing renamed, nothing left behind.
  expect(readFileSync(host.installPath)).toEqual(OLD)
  expect(readdirSync(host.binDir)).toEqual(['cco'])
  expect(existsSync(host.journal)).toBe(false)
}

describe('downloading a release archive', () => {
  it('prepares a verified binary in a private temp dir inside the install directory', async () => {
    server.file('/good', ARCHIVE)
    const p = await prepareInstall(ctx, { version: '2026.1.2', asset: asset('/good') })
    expect(p.tempDir.startsWith(`${host.binDir}/.cco-update-`)).toBe(true)
    expect(readFileSync(p.newBinary)).toEqual(NEW)
    expect(readFileSync(host.installPath)).toEqual(OLD)
  })

  it('refuses a flipped byte', async () => {
    const bad = Buffer.from(ARCHIVE)
    bad.writeUInt8(bad.readUInt8(bad.length >> 1) ^ 0xff, bad.length >> 1)
    server.file('/flipped', bad)
    await expectRefused(asset('/flipped'), /^Checksum verification failed: sha256 is/, 4)
  })

  it('refuses a truncated download (announced and not)', async () => {
    server.file('/short', ARCHIVE.subarray(0, ARCHIVE.length - 100))
    await expectRefused(asset('/short'), /^Checksum verification failed/, 4)
    server.route('/short-chunked', (_req, res) => {
      res.writeHead(200)
      res.end(ARCHIVE.subarray(0, ARCHIVE.length - 100))
    })
    await expectRefused(asset('/short-chunked'), /^Checksum verification failed: received \d+ of \d+ bytes/, 4)
  })

  it('refuses extra bytes, also without a Content-Length', async () => {
    server.file('/long', Buffer.concat([ARCHIVE, Buffer.alloc(10)]))
    await expectRefused(asset('/long'), /^Checksum verification failed/, 4)
    server.route('/long-chunked', (_req, res) => {
      res.writeHead(200)
      res.write(ARCHIVE)
      res.end(Buffer.alloc(1024))
    })
    await expectRefused(asset('/long-chunked'), /^Checksum verification failed: received more than/, 4)
  })

  it('refuses an HTML error page served with status 200', async () => {
    const html = Buffer.from('<!doctype html><title>Sign in</title><p>Please sign in to continue</p>')
    server.route('/html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(html)
    })
    await expectRefused(asset('/html'), /^Checksum verification failed/, 4)
    await expectRefused(asset('/html', { size: html.length }), /^Checksum verification failed: sha256 is/, 4)
  })

  it('gives up on a stalled transfer (headers sent, then no bytes)', async () => {
    server.route('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': ARCHIVE.length })
      res.write(ARCHIVE.subarray(0, 100))
      // …and nothing more.
    })
    await expectRefused(asset('/stall'), /stalled/, 3)
  })

  it('gives up on a server that never answers', async () => {
    server.route('/silent', () => {})
    await expectRefused(asset('/silent'), /no response from/, 3)
  })

  it('refuses a redirect loop after 5 hops', async () => {
    server.route('/loop', (_req, res) => {
      res.writeHead(302, { location: '/loop' })
      res.end()
    })
    await expectRefused(asset('/loop'), /too many redirects \(more than 5\)/, 3)
  })

  it('follows a few redirects to the real file', async () => {
    server.file('/final', ARCHIVE)
    server.route('/hop1', (_req, res) => {
      res.writeHead(302, { location: `${server.url}/hop2` })
      res.end()
    })
    server.route('/hop2', (_req, res) => {
      res.writeHead(307, { location: '/final' })
      res.end()
    })
    const p = await prepareInstall(ctx, { version: '2026.1.2', asset: asset('/hop1') })
    expect(readFileSync(p.newBinary)).toEqual(NEW)
  })

  it('refuses a redirect to plain http on a non-loopback host', async () => {
    server.route('/downgrade', (_req, res) => {
      res.writeHead(302, { location: 'http://downloads.example.com/cco.tar.gz' })
      res.end()
    })
    await expectRefused(asset('/downgrade'), /plain http:\/\/ is only allowed to loopback hosts/, 4)
  })

  it('reports an HTTP error from the download host', async () => {
    await expectRefused(asset('/missing'), /^Download failed: HTTP 404/, 3)
  })
})
