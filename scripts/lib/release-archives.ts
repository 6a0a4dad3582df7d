// Release archives as contract/README.md describes them: the binary alone at the archive root (`cco` in a
// .tar.gz, mode 0755; `cco.exe` in a .zip), and `checksums.txt` in `sha256sum` format.
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream, readdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { create } from 'tar'
import yazl from 'yazl'

/** A .tar.gz holding only `name` (the file at `binary`, stored as a regular file, mode 0755). */
export async function packTarGz(binary: string, name: string, out: string, mtime: Date): Promise<void> {
  // node-tar takes the entry name from the path below `cwd`; `portable` drops owner names,
  // ids and other host details. The mode is the file's own (set to 0755 by the build).
  if (basename(binary) !== name) throw new Error(`packTarGz: the binary must be named ${name}, got ${basename(binary)}`)
  await create({ gzip: true, file: out, cwd: dirname(binary), portable: true, mtime, noDirRecurse: true }, [name])
}

/** A .zip holding only `name`, with Unix mode 0755 recorded for unzip on Unix. */
export async function packZip(binary: string, name: string, out: string, mtime: Date): Promise<void> {
  const zip = new yazl.ZipFile()
  zip.addFile(binary, name, { mode: 0o100755, mtime, compress: true })
  zip.end()
  await pipeline(zip.outputStream, createWriteStream(out))
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(path), hash)
  return hash.digest('hex')
}

/** `<sha256>  <name>` per file (two spaces: `sha256sum`'s text mode), sorted by name. */
export async function writeChecksums(dir: string, names: string[], file = 'checksums.txt'): Promise<string> {
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const lines: string[] = []
  for (const name of sorted) lines.push(`${await sha256File(join(dir, name))}  ${name}`)
  const path = join(dir, file)
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}

/** Files a previous build of `version` left in `dir` (archives, their block maps and chunk packs, checksums), to be replaced. */
export function previousOutputs(dir: string, version: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const prefix = `cco-${version}-`
  const outputs = ['.tar.gz', '.zip', '.blockmap.json', '.chunks']
  return names.filter((n) => n === 'checksums.txt' || (n.startsWith(prefix) && outputs.some((end) => n.endsWith(end))))
}
