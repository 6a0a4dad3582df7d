// Archive extraction (client/src/update/extract.ts) on generated and mutated archives: it
// throws nothing but RefusedError, and the whole temp tree around it is unchanged afterwards
// except for the one binary it was asked to write (or nothing). Entry names include `../`,
// absolute paths (into the watched tree), backslashes, drive letters, NUL, long names (pax
// and GNU), and every entry type (links, devices, fifos, unknown typeflags).
import fc from 'fast-check'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ArchiveKind } from '../../contract/platform.ts'
import { RefusedError } from '../../client/src/errors.ts'
import { extractBinary } from '../../client/src/update/extract.ts'
import { tarBuffer, tarGz, zip } from '../../support/archives.ts'
import { rawTar, rawTarGz, rawZip, snapshotTree, type NameEncoding, type RawTarEntry, type RawZipEntry } from '../support/fuzz-archives.ts'
import { fuzzParams, fuzzTimeout } from '../support/fuzz-params.ts'

const BINARY = Buffer.from('#!/bin/sh\necho "cco 2026.1.2"\n')
/** Replaced by the run's root directory: absolute names that point into the watched tree. */
const ROOT = '@ROOT@'

let base: string
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'cco-fuzz-extract-'))
})
afterAll(() => rmSync(base, { recursive: true, force: true }))

type Outcome = { ok: true; content: Buffer } | { ok: false; error: unknown }

/**
 * Extracts `archive` in a fresh tree `<root>/outer/target/` and checks the tree before and after:
 * only `outer/target/cco` may appear (mode 0755), nothing else may change.
 */
async function extractWatched(kind: ArchiveKind, make: (root: string) => Buffer): Promise<Outcome> {
  const root = mkdtempSync(join(base, 'r-'))
  try {
    const work = join(root, 'outer', 'target')
    mkdirSync(work, { recursive: true })
    writeFileSync(join(root, 'outer', 'neighbour'), 'untouched')
    const archive = make(root)
    const archivePath = join(work, kind === 'zip' ? 'archive.zip' : 'archive.tar.gz')
    writeFileSync(archivePath, archive)
    const before = snapshotTree(root)
    const dest = join(work, 'cco')
    const outcome: Outcome = await extractBinary({ archivePath, kind, binaryName: 'cco', dest, archiveSize: archive.length }).then(
      () => ({ ok: true as const, content: readFileSync(dest) }),
      (error: unknown) => ({ ok: false as const, error }),
    )
    const after = snapshotTree(root)
    if (outcome.ok) {
      expect(statSync(dest).mode & 0o777).toBe(0o755)
      after.delete('outer/target/cco')
    }
    expect(Object.fromEntries(after)).toEqual(Object.fromEntries(before))
    if (!outcome.ok && !(outcome.error instanceof RefusedError)) {
      throw new Error(`extraction threw something other than RefusedError: ${String(outcome.error)}`, { cause: outcome.error })
    }
    return outcome
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

// ---- generated entries -----------------------------------------------------------------

const component = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('cco', 'cco', '.', '..', 'a', 'bin', 'cco.exe', 'CCO', 'cco ', '') },
  fc.constantFrom('...', '.. ', 'C:', 'c:..', '\\', '..\\..', 'a\\..\\..', 'x'.repeat(120), 'é', '\u202e', 'con', '~'),
  fc.stringMatching(/^[a-z0-9._-]{1,12}$/),
)
const entryName = fc
  .record({
    lead: fc.constantFrom('', '', '', './', '/', '//', '\\', `${ROOT}/`, `${ROOT}/outer/`, 'C:/', 'C:\\'),
    parts: fc.array(component, { minLength: 1, maxLength: 4 }),
    sep: fc.constantFrom('/', '/', '\\', '//'),
    trail: fc.constantFrom('', '', '', '/', '\0', '\0/../x'),
  })
  .map(({ lead, parts, sep, trail }) => lead + parts.join(sep) + trail)

const FILE_TYPES = new Set(['0', '\0', '7'])
const TYPEFLAGS = ['0', '0', '0', '\0', '1', '2', '3', '4', '5', '6', '7', 'D', 'Z', 'g', 'x', 'S', 'V']
const linkname = fc.constantFrom('cco', '../cco', '/bin/sh', `${ROOT}/outer/neighbour`, '..', 'x'.repeat(150), '')
const tarEntry: fc.Arbitrary<RawTarEntry> = fc
  .record({
    name: fc.oneof({ weight: 3, arbitrary: entryName }, fc.constantFrom('cco', './cco')),
    typeflag: fc.constantFrom(...TYPEFLAGS),
    body: fc.oneof(fc.constant(BINARY), fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b))),
    linkname,
    strayLink: fc.integer({ min: 0, max: 9 }),
    encoding: fc.constantFrom<NameEncoding>('ustar', 'pax', 'gnu'),
    mode: fc.constantFrom(0o755, 0o644, 0o4755, 0o777),
  })
  // A link target on anything but a link, now and then.
  .map(({ strayLink, linkname, body, ...e }) => ({
    ...e,
    linkname: e.typeflag === '1' || e.typeflag === '2' || strayLink === 0 ? linkname : '',
    // Only files carry data (a size on anything else is a corruption, left to the mutation properties).
    body: FILE_TYPES.has(e.typeflag) ? body : Buffer.alloc(0),
  }))

function withRoot(root: string, s: string): string {
  return s.split(ROOT).join(root)
}

/** The name node-tar reads back: ustar names stop at a NUL and at 100 bytes. */
function effectiveTarName(e: RawTarEntry): string {
  const bytes = Buffer.from(e.name)
  const long = bytes.length > 100 || Buffer.byteLength(e.linkname ?? '') > 100
  if (!long || e.encoding === 'ustar') return bytes.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '')
  return e.name.replace(/\0.*$/s, '')
}

/** The extractor's rules restated: harmless entries are plain files or directories with relative, `..`-free names. */
function harmless(name: string, typeflag: string): boolean {
  if (name === '' || /^[\\/]/.test(name) || /^[A-Za-z]:/.test(name)) return false
  if (name.split(/[\\/]+/).includes('..')) return false
  return FILE_TYPES.has(typeflag) || typeflag === '5'
}
const isRootBinary = (name: string) => name.replace(/^(\.\/)+/, '') === 'cco'

describe('tar.gz extraction', () => {
  it(
    'writes only the binary, only from an archive of harmless entries, and throws only RefusedError',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(tarEntry, { minLength: 1, maxLength: 5 }), async (generated) => {
          let entries: RawTarEntry[] = []
          const outcome = await extractWatched('tar.gz', (root) => {
            entries = generated.map((e) => ({ ...e, name: withRoot(root, e.name), linkname: withRoot(root, e.linkname ?? '') }))
            return rawTarGz(entries)
          })
          // A pax header ('x', 'g') with an empty body makes node-tar rename the next entry
          // after the pax header's own name: beyond this oracle's model of names, so only the
          // invariants of extractWatched (nothing but the binary written, RefusedError) apply.
          if (entries.some((e) => e.typeflag === 'x' || e.typeflag === 'g')) return
          // Entries node-tar reads as plain files or directories (unknown typeflags are skipped).
          const seen = entries
            .filter((e) => !['Z', 'S', 'V'].includes(e.typeflag))
            .map((e) => ({ name: effectiveTarName(e), typeflag: e.typeflag, body: e.body ?? Buffer.alloc(0) }))
          if (outcome.ok) {
            for (const e of seen) expect(harmless(e.name, e.typeflag), `accepted an archive with entry ${JSON.stringify(e.name)} (${JSON.stringify(e.typeflag)})`).toBe(true)
            const binaries = seen.filter((e) => FILE_TYPES.has(e.typeflag) && isRootBinary(e.name))
            expect(binaries).toHaveLength(1)
            expect(outcome.content).toEqual(binaries[0]!.body)
          } else if (
            // Plain names only (no NUL, no trailing slash, no long names): the rules decide alone.
            seen.every((e) => harmless(e.name, e.typeflag) && !e.name.endsWith('/') && Buffer.byteLength(e.name) <= 100) &&
            entries.every((e) => !e.name.includes('\0') && Buffer.byteLength(e.name) <= 100) &&
            // node-tar (strict) refuses a link target on anything but a link.
            entries.every((e) => e.typeflag === '1' || e.typeflag === '2' || !e.linkname) &&
            seen.filter((e) => FILE_TYPES.has(e.typeflag) && isRootBinary(e.name)).length === 1
          ) {
            throw new Error(`refused a harmless archive: ${String(outcome.error)}`)
          }
        }),
        fuzzParams(0.3),
      )
    },
    fuzzTimeout(20, 0.3),
  )

  const good = tarBuffer([
    { name: 'README.md', body: 'read me' },
    { name: 'cco', body: BINARY, mode: 0o755 },
  ])
  const goodGz = tarGz([
    { name: 'README.md', body: 'read me' },
    { name: 'cco', body: BINARY, mode: 0o755 },
  ])
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  )
  type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never
  const apply = (buf: Buffer, e: Edit): Buffer => {
    const at = buf.length ? e.at % buf.length : 0
    switch (e.kind) {
      case 'flip': {
        const out = Buffer.from(buf)
        if (out.length) out[at]! ^= e.bits
        return out
      }
      case 'truncate':
        return buf.subarray(0, at)
      case 'insert':
        return Buffer.concat([buf.subarray(0, at), e.bytes, buf.subarray(at)])
      case 'delete':
        return Buffer.concat([buf.subarray(0, at), buf.subarray(at + e.length)])
    }
  }

  it(
    'survives byte flips, truncations, insertions and deletions of a valid .tar.gz (compressed or not)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), fc.array(edit, { minLength: 1, maxLength: 3 }), async (inner, edits) => {
          const archive = inner ? gzipSync(edits.reduce(apply, good)) : edits.reduce(apply, goodGz)
          const outcome = await extractWatched('tar.gz', () => archive)
          // A flip inside the binary's bytes of the inner tar is not the extractor's to notice
          // (the archive's sha256 is checked before extraction); anything else must not pass
          // with a different binary.
          if (outcome.ok && !inner) expect(outcome.content).toEqual(BINARY)
        }),
        fuzzParams(0.3),
      )
    },
    fuzzTimeout(20, 0.3),
  )
})

// ---- zip -------------------------------------------------------------------------------

const ZIP_MODES = [0o100755, 0o100644, 0o040755, 0o120777, 0o020644, 0o060644, 0o010644, 0o140755, 0]
const zipEntry: fc.Arbitrary<RawZipEntry> = fc.record({
  name: fc.oneof({ weight: 3, arbitrary: entryName }, fc.constantFrom('cco', './cco', 'dir/')),
  body: fc.oneof(fc.constant(BINARY), fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b))),
  mode: fc.constantFrom(...ZIP_MODES),
  unix: fc.boolean(),
  flags: fc.constantFrom(0x0800, 0x0800, 0, 0x0801, 0x0808),
  deflate: fc.boolean(),
})

describe('zip extraction', () => {
  it(
    'writes only the binary, only from an archive of harmless entries, and throws only RefusedError',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(zipEntry, { minLength: 1, maxLength: 5 }), async (generated) => {
          let entries: RawZipEntry[] = []
          const outcome = await extractWatched('zip', (root) => {
            entries = generated.map((e) => ({ ...e, name: withRoot(root, e.name as string) }))
            return rawZip(entries)
          })
          if (!outcome.ok) return
          const typeOf = (e: RawZipEntry, name: string) =>
            !e.unix || (e.mode ?? 0) === 0 ? (name.endsWith('/') ? 'dir' : 'file') : (e.mode! & 0o170000) === 0o100000 ? 'file' : (e.mode! & 0o170000) === 0o040000 ? 'dir' : 'special'
          for (const e of entries) {
            const name = e.name as string
            const type = typeOf(e, name)
            expect(type === 'special' || name.includes('\0') || ((e.flags ?? 0) & 1) === 1, `accepted an archive with entry ${JSON.stringify(name)}`).toBe(false)
            expect(harmless(name, type === 'dir' ? '5' : '0'), `accepted an archive with entry ${JSON.stringify(name)}`).toBe(true)
          }
          const binaries = entries.filter((e) => typeOf(e, e.name as string) === 'file' && isRootBinary(e.name as string))
          expect(binaries).toHaveLength(1)
          expect(outcome.content).toEqual(binaries[0]!.body)
        }),
        fuzzParams(0.3),
      )
    },
    fuzzTimeout(20, 0.3),
  )

  it(
    'survives byte flips, truncations and insertions of a valid .zip',
    async () => {
      const good = await zip([
        { name: 'docs/', mode: 0o040755 },
        { name: 'README.md', body: 'read me' },
        { name: 'cco', body: BINARY },
      ])
      const edit = fc.oneof(
        fc.record({ at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }), cut: fc.constant(false) }),
        fc.record({ at: fc.nat(), bits: fc.constant(0), cut: fc.constant(true) }),
      )
      await fc.assert(
        fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
          let archive = Buffer.from(good)
          for (const e of edits) {
            const at = archive.length ? e.at % archive.length : 0
            if (e.cut) archive = archive.subarray(0, at)
            else if (archive.length) archive[at]! ^= e.bits
          }
          await extractWatched('zip', () => archive)
        }),
        fuzzParams(0.3),
      )
    },
    fuzzTimeout(20, 0.3),
  )
})

// The tar writer itself must produce what node-tar reads as intended, or the properties above
// prove nothing: a harmless archive with a long (pax and GNU) binary path round-trips.
describe('the fuzz archive writers', () => {
  it('write archives the extractor accepts when they are harmless', async () => {
    for (const encoding of ['pax', 'gnu'] as const) {
      const entries: RawTarEntry[] = [
        { name: `${'d'.repeat(60)}/${'e'.repeat(60)}/file`, typeflag: '0', body: Buffer.from('x'), encoding },
        { name: './cco', typeflag: '0', body: BINARY, encoding },
      ]
      const r = await extractWatched('tar.gz', () => rawTarGz(entries))
      expect(r).toEqual({ ok: true, content: BINARY })
      expect(rawTar(entries).length % 512).toBe(0)
    }
    const z = await extractWatched('zip', () => rawZip([{ name: 'a/', mode: 0o040755 }, { name: 'cco', body: BINARY, deflate: true }]))
    expect(z).toEqual({ ok: true, content: BINARY })
  })
})
