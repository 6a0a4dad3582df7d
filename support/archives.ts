// Release archives for tests, good and malicious: a small ustar writer (node-tar refuses to
// write `../` or absolute names, which is exactly what the tests need) and zips via yazl with
// names patched in afterwards.
import { gzipSync } from 'node:zlib'
import yazl from 'yazl'

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev' | 'fifo'

export interface TarEntry {
  name: string
  type?: TarEntryType
  body?: Buffer | string
  mode?: number
  linkname?: string
  /** Size written in the header (default: the body's length). */
  declaredSize?: number
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', chardev: '3', dir: '5', fifo: '6' }

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512)
  if (Buffer.byteLength(e.name) > 100) throw new Error(`tar test writer: name too long: ${e.name}`)
  h.write(e.name, 0, 100, 'utf8')
  h.write(octal(e.mode ?? (e.type === 'dir' ? 0o755 : 0o755), 8), 100, 'ascii')
  h.write(octal(0, 8), 108, 'ascii')
  h.write(octal(0, 8), 116, 'ascii')
  h.write(octal(size, 12), 124, 'ascii')
  h.write(octal(Math.floor(Date.now() / 1000), 12), 136, 'ascii')
  h.write('        ', 148, 'ascii')
  h.write(TYPEFLAG[e.type ?? 'file'], 156, 'ascii')
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8')
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  h.write('root', 265, 'ascii')
  h.write('root', 297, 'ascii')
  let sum = 0
  for (const b of h) sum += b
  h.write(octal(sum, 7) + ' ', 148, 'ascii')
  return h
}

export function tarBuffer(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0))
    const hasBody = (e.type ?? 'file') === 'file'
    parts.push(header(e, e.declaredSize ?? (hasBody ? body.length : 0)))
    if (hasBody && body.length) {
      parts.push(body)
      const pad = (512 - (body.length % 512)) % 512
      if (pad) parts.push(Buffer.alloc(pad))
    }
  }
  parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

export function tarGz(entries: TarEntry[]): Buffer {
  return gzipSync(tarBuffer(entries))
}

export interface ZipEntry {
  name: string
  body?: Buffer | string
  /** Unix mode including the file type bits (0o120777 for a symlink). */
  mode?: number
}

/** yazl refuses `../` and absolute names; write a same-length placeholder, then patch it. */
export async function zip(entries: ZipEntry[]): Promise<Buffer> {
  const z = new yazl.ZipFile()
  const patches: [string, string][] = []
  entries.forEach((e, i) => {
    let name = e.name
    if (name.startsWith('/') || name.split('/').includes('..')) {
      const placeholder = `p${i}`.padEnd(name.length, 'x')
      if (placeholder.length !== name.length) throw new Error('zip test writer: name too short to patch')
      patches.push([placeholder, name])
      name = placeholder
    }
    if (name.endsWith('/')) return z.addEmptyDirectory(name, { mode: e.mode ?? 0o040755 })
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0))
    z.addBuffer(body, name, { mode: e.mode ?? 0o100755 })
  })
  z.end()
  const chunks: Buffer[] = []
  for await (const c of z.outputStream) chunks.push(c as Buffer)
  let buf: Buffer = Buffer.concat(chunks)
  for (const [from, to] of patches) buf = replaceAll(buf, Buffer.from(from), Buffer.from(to))
  return buf
}

function replaceAll(buf: Buffer, from: Buffer, to: Buffer): Buffer {
  // In place: the patched names have the placeholders' lengths.
  let i = buf.indexOf(from)
  while (i !== -1) {
    to.copy(buf, i)
    i = buf.indexOf(from, i + to.length)
  }
  return buf
}

/** Makes the central directory claim a different uncompressed size for `name` (a lying zip). */
export function patchZipDeclaredSize(buf: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(buf)
  const sig = Buffer.from([0x50, 0x4b, 0x01, 0x02])
  for (let i = out.indexOf(sig); i !== -1; i = out.indexOf(sig, i + 4)) {
    const nameLen = out.readUInt16LE(i + 28)
    if (out.toString('utf8', i + 46, i + 46 + nameLen) === name) {
      out.writeUInt32LE(size, i + 24)
      return out
    }
  }
  throw new Error(`no central directory entry for ${name}`)
}

/** The usual release archive: the binary `cco` at the root. */
export function releaseTarGz(binary: Buffer, name = 'cco'): Buffer {
  return tarGz([{ name, body: binary, mode: 0o755 }])
}
