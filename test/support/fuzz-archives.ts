// Archive writers for the extraction fuzz suite, with nothing checked and everything settable:
// tar entries with any typeflag, long names as pax records or GNU long-name entries, and
// zips with any name bytes, Unix mode, "made by" system and flags. Plus a snapshot of a
// directory tree, to prove that extraction wrote nothing but the one file it should.
import { createHash } from 'node:crypto'
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { crc32, deflateRawSync, gzipSync } from 'node:zlib'

// ---- tar -------------------------------------------------------------------------------

export type NameEncoding = 'ustar' | 'pax' | 'gnu'

export interface RawTarEntry {
  name: string
  /** One typeflag character: '0' file, '\0' old file, '1' hard link, '2' symlink, '3'/'4' devices, '5' dir, '6' fifo, '7' contiguous, … */
  typeflag: string
  body?: Buffer
  linkname?: string
  mode?: number
  /** How a name that does not fit ustar's 100 bytes is carried (default pax). */
  encoding?: NameEncoding
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0').slice(-(width - 1)) + '\0'
}

function header(name: Buffer, typeflag: string, size: number, o: { linkname?: Buffer; mode?: number }): Buffer {
  const h = Buffer.alloc(512)
  name.copy(h, 0, 0, Math.min(100, name.length))
  h.write(octal(o.mode ?? 0o755, 8), 100, 'ascii')
  h.write(octal(0, 8), 108, 'ascii')
  h.write(octal(0, 8), 116, 'ascii')
  h.write(octal(size, 12), 124, 'ascii')
  h.write(octal(1_700_000_000, 12), 136, 'ascii')
  h.write('        ', 148, 'ascii')
  h.write(typeflag.slice(0, 1) || '\0', 156, 'latin1')
  o.linkname?.copy(h, 157, 0, Math.min(100, o.linkname.length))
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  let sum = 0
  for (const b of h) sum += b
  h.write(octal(sum, 7) + ' ', 148, 'ascii')
  return h
}

function padded(body: Buffer): Buffer[] {
  const pad = (512 - (body.length % 512)) % 512
  return pad ? [body, Buffer.alloc(pad)] : [body]
}

function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`
  let len = Buffer.byteLength(rest) + 1
  while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest)
  return `${len}${rest}`
}

/** A tar stream (uncompressed) of the entries exactly as given. */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8')
    const link = e.linkname !== undefined ? Buffer.from(e.linkname, 'utf8') : undefined
    const long = name.length > 100 || (link?.length ?? 0) > 100
    if (long && (e.encoding ?? 'pax') === 'pax') {
      const records = paxRecord('path', e.name) + (link ? paxRecord('linkpath', e.linkname!) : '')
      const body = Buffer.from(records, 'utf8')
      parts.push(header(Buffer.from('PaxHeader/entry'), 'x', body.length, {}), ...padded(body))
    } else if (long) {
      if (name.length > 100) parts.push(header(Buffer.from('././@LongLink'), 'L', name.length + 1, {}), ...padded(Buffer.concat([name, Buffer.alloc(1)])))
      if (link && link.length > 100) parts.push(header(Buffer.from('././@LongLink'), 'K', link.length + 1, {}), ...padded(Buffer.concat([link, Buffer.alloc(1)])))
    }
    const body = e.body ?? Buffer.alloc(0)
    parts.push(header(name, e.typeflag, body.length, { linkname: link, mode: e.mode }))
    if (body.length) parts.push(...padded(body))
  }
  parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

export function rawTarGz(entries: RawTarEntry[]): Buffer {
  return gzipSync(rawTar(entries))
}

// ---- zip -------------------------------------------------------------------------------

export interface RawZipEntry {
  /** Raw name bytes (a string is written as UTF-8). */
  name: string | Buffer
  body?: Buffer
  /** Unix mode with type bits (0o100755 file, 0o120777 symlink, …), stored when `unix`. */
  mode?: number
  /** "Made by" Unix (mode bits are meaningful) or DOS (they are not). Default Unix. */
  unix?: boolean
  /** General purpose flags (bit 0: encrypted, bit 11: UTF-8 names). */
  flags?: number
  deflate?: boolean
}

/** A zip with one local header + data per entry, a central directory and its end record. */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const e of entries) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name
    const body = e.body ?? Buffer.alloc(0)
    const data = e.deflate ? deflateRawSync(body) : body
    const method = e.deflate ? 8 : 0
    const crc = crc32(body) >>> 0
    const flags = e.flags ?? 0x0800
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(flags, 6)
    local.writeUInt16LE(method, 8)
    local.writeUInt32LE(0x5a210000, 10)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(data.length, 18)
    local.writeUInt32LE(body.length, 22)
    local.writeUInt16LE(name.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(((e.unix ?? true) ? 3 : 0) << 8 | 20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(flags, 8)
    central.writeUInt16LE(method, 10)
    central.writeUInt32LE(0x5a210000, 12)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(data.length, 20)
    central.writeUInt32LE(body.length, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(((e.unix ?? true) ? (e.mode ?? 0o100755) : 0) * 0x10000 >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, data)
    centrals.push(central, name)
    offset += local.length + name.length + data.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

// ---- tree snapshots --------------------------------------------------------------------

/** Every path under `root` (lstat: links are not followed) with its type, mode and content hash. */
export function snapshotTree(root: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const key = rel ? `${rel}/${name}` : name
      const st = lstatSync(path)
      const mode = (st.mode & 0o7777).toString(8)
      if (st.isDirectory()) {
        out.set(key, `dir ${mode}`)
        walk(path, key)
      } else if (st.isSymbolicLink()) out.set(key, `symlink -> ${readlinkSync(path)}`)
      else if (st.isFile()) out.set(key, `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`)
      else out.set(key, `other ${st.mode.toString(8)}`)
    }
  }
  walk(root, '')
  return out
}
