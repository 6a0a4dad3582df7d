// readStateFile(): the one reader of cco's JSON state files (pid file, install journal, trust
// state, handover record, update lock), on real files in a temp dir.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { readStateFile, UnsafeStateFileError } from '../../client/src/system/state-file.ts'

const Schema = z.object({ pid: z.int().positive(), note: z.string().default('none') })

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cco-state-read-'))
  return () => rmSync(dir, { recursive: true, force: true })
})

describe('readStateFile', () => {
  it('returns the validated value, with the schema defaults applied', () => {
    const file = join(dir, 'a.json')
    writeFileSync(file, '{"pid": 42}\n')
    expect(readStateFile(file, Schema)).toEqual({ kind: 'ok', value: { pid: 42, note: 'none' } })
  })

  it('says missing when there is no file', () => {
    expect(readStateFile(join(dir, 'none.json'), Schema)).toEqual({ kind: 'missing' })
    expect(readStateFile(join(dir, 'none.json'), Schema, { noFollow: true })).toEqual({ kind: 'missing' })
  })

  it('names the first schema issue of a file that is JSON but not the expected shape', () => {
    const file = join(dir, 'a.json')
    writeFileSync(file, '{"pid": -1}')
    const read = readStateFile(file, Schema)
    expect(read.kind).toBe('invalid')
    expect(read.kind === 'invalid' && read.reason).toMatch(/^pid: /)
  })

  it('calls a file that is not JSON invalid, with the parser message', () => {
    const file = join(dir, 'a.json')
    writeFileSync(file, '{"pid": 4')
    const read = readStateFile(file, Schema)
    expect(read.kind).toBe('invalid')
    expect(read.kind === 'invalid' && read.reason).toMatch(/JSON/)
  })

  it('reports a path it cannot read as unreadable, with the error, instead of throwing', () => {
    const path = join(dir, 'a.json')
    mkdirSync(path)
    const read = readStateFile(path, Schema)
    expect(read.kind).toBe('unreadable')
    expect(read.kind === 'unreadable' && read.reason).toMatch(/EISDIR/)
  })

  it('follows a symlink by default, and refuses it as unreadable with noFollow', () => {
    const target = join(dir, 'target.json')
    writeFileSync(target, '{"pid": 7}')
    const link = join(dir, 'link.json')
    symlinkSync(target, link)
    expect(readStateFile(link, Schema)).toEqual({ kind: 'ok', value: { pid: 7, note: 'none' } })
    const read = readStateFile(link, Schema, { noFollow: true })
    expect(read.kind).toBe('unreadable')
    expect(read.kind === 'unreadable' && read.error).toBeInstanceOf(UnsafeStateFileError)
    expect(read.kind === 'unreadable' && read.reason).toContain(`refusing to use ${link}: it is a symbolic link`)
  })
})
