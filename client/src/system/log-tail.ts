// Reading the daemon log like `tail -n N` and `tail -F`: the last lines without reading a whole
// 10 MiB file, then polling for new bytes and reopening from the start when the file was
// rotated (a new inode) or truncated. Opened like every state and log file (state-file.ts): a
// symlink or fifo planted at the log's path is refused, never followed.
import { closeSync, fstatSync, readSync, statSync } from 'node:fs'
import { errnoCode } from '../errors.ts'
import { openForRead } from './state-file.ts'

const CHUNK = 64 * 1024

/** The last `n` lines of `path` (without their final newline), and the size that was read to. */
export function lastLines(path: string, n: number): { lines: string[]; size: number; ino: number } | null {
  let fd: number
  try {
    fd = openForRead(path)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null
    throw err
  }
  try {
    const st = fstatSync(fd)
    const size = st.size
    if (n <= 0) return { lines: [], size, ino: st.ino }
    let pos = size
    let text = ''
    // Read backwards until n+1 newlines are in hand (the last line may end with one).
    while (pos > 0 && text.split('\n').length <= n + 1) {
      const len = Math.min(CHUNK, pos)
      pos -= len
      const buf = Buffer.alloc(len)
      readSync(fd, buf, 0, len, pos)
      text = buf.toString('utf8') + text
    }
    const lines = text.split('\n')
    if (lines.at(-1) === '') lines.pop()
    return { lines: lines.slice(-n), size, ino: st.ino }
  } finally {
    closeSync(fd)
  }
}

export interface FollowOptions {
  pollMs?: number
  signal: AbortSignal
}

/**
 * Calls `onText` with everything appended to `path` after `from` (bytes; inode `ino`) until
 * the signal aborts. The open file is read to its end before switching to a new file at the
 * same path (rotation), so lines written just before a rotation are not lost; a truncated
 * file is read again from its start.
 */
export async function followFile(path: string, from: { size: number; ino: number }, onText: (text: string) => void, o: FollowOptions): Promise<void> {
  const pollMs = o.pollMs ?? 250
  let fd: number | null = null
  let pos = from.size
  try {
    fd = openForRead(path)
    if (fstatSync(fd).ino !== from.ino) pos = 0
  } catch {
    fd = null
    pos = 0
  }
  let pending = ''
  const drain = () => {
    if (fd === null) return
    const size = fstatSync(fd).size
    if (size < pos) pos = 0
    while (pos < size) {
      const buf = Buffer.alloc(Math.min(CHUNK, size - pos))
      const got = readSync(fd, buf, 0, buf.length, pos)
      if (got <= 0) break
      pos += got
      pending += buf.subarray(0, got).toString('utf8')
    }
    // Only whole lines; a partial last line waits for its end.
    const end = pending.lastIndexOf('\n') + 1
    if (end > 0) {
      onText(pending.slice(0, end))
      pending = pending.slice(end)
    }
  }
  try {
    while (!o.signal.aborted) {
      drain()
      const st = statSync(path, { throwIfNoEntry: false })
      if (st && (fd === null || st.ino !== fstatSync(fd).ino)) {
        // Rotated (or created): the old file was read to its end above.
        if (pending) onText(`${pending}\n`)
        pending = ''
        if (fd !== null) closeSync(fd)
        fd = null
        try {
          fd = openForRead(path)
          pos = 0
          drain()
        } catch {}
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => {
          clearTimeout(t)
          resolve()
        }
        const t = setTimeout(() => {
          o.signal.removeEventListener('abort', onAbort)
          resolve()
        }, pollMs)
        o.signal.addEventListener('abort', onAbort, { once: true })
      })
    }
  } finally {
    if (fd !== null) closeSync(fd)
  }
}
