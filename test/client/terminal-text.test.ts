// The one escaping function for text that reaches a terminal or a log (output/terminal-text.ts),
// the writers built on it, and a scan of the client's sources that keeps every printer on them.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatUpdateEvent } from '../../client/src/output/format.ts'
import { notesText, printLines, printText, safeJson, safeMultiline, safeText } from '../../client/src/output/terminal-text.ts'
import { auditDetail, table } from '../../client/src/output/release.ts'
import { CliError, RollbackFailedError } from '../../client/src/errors.ts'
import { createConsoleLogger, createTimestampLogger, formatLogLine } from '../../client/src/system/logger.ts'
import { REPO_ROOT } from '../../support/cco-process.ts'

/** Everything a terminal could act on (C0 but `\n`/`\t`, DEL, C1, bidi, separators). */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u

describe('safeText', () => {
  it.each([
    ['ESC', 'a\x1bb', 'a\\x1bb'],
    ['CSI clear screen', '\x1b[2J', '\\x1b[2J'],
    ['OSC 52 clipboard write', '\x1b]52;c;ZXZpbA==\x07', '\\x1b]52;c;ZXZpbA==\\x07'],
    ['CR (overwrite the line)', 'ok\r✅ Successfully updated', 'ok\\r✅ Successfully updated'],
    ['BS', 'a\bb', 'a\\x08b'],
    ['DEL', 'a\x7fb', 'a\\x7fb'],
    ['NUL', 'a\x00b', 'a\\x00b'],
    ['C1 CSI', 'a\u009b31mb', 'a\\x9b31mb'],
    ['C1 NEL and OSC', '\u0085\u009d', '\\x85\\x9d'],
    ['RLO', 'a\u202eexe.txt', 'a\\u202eexe.txt'],
    ['every bidi embedding, override and isolate', '\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069', '\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069'],
    ['LRM, RLM, ALM', '\u200e\u200f\u061c', '\\u200e\\u200f\\u061c'],
    ['newline and tab', 'a\nb\tc', 'a\\nb\\tc'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['lone high surrogate', 'a\ud83db', 'a\\ud83db'],
    ['lone low surrogate at the end', 'a\ude00', 'a\\ude00'],
  ])('makes %s visible', (_what, input, shown) => {
    expect(safeText(input)).toBe(shown)
    expect(RAW.test(safeText(input))).toBe(false)
  })

  it('keeps printable Unicode: accents, CJK, emoji with joiners and variation selectors', () => {
    const text = 'café 日本語 😀 👩‍💻 ⚠️  ✅ → ‘quoted’ C:\\Users\\me'
    expect(safeText(text)).toBe(text)
  })

  it('changes nothing when applied twice (a backslash is kept)', () => {
    const once = safeText('\x1b[2J\u009b\u202e\ud800\\x1b')
    expect(safeText(once)).toBe(once)
  })

  it('escapes every C0 and C1 code point and nothing printable in U+0000–U+00FF', () => {
    for (let n = 0; n <= 0xff; n++) {
      const c = String.fromCharCode(n)
      const control = n < 0x20 || (n >= 0x7f && n <= 0x9f)
      expect(safeText(c) !== c, `U+${n.toString(16)}`).toBe(control)
    }
  })
})

describe('safeMultiline (release notes)', () => {
  it('keeps newlines and tabs, and nothing else', () => {
    expect(safeMultiline('Fixes:\n\t- proxy\x1b[2J\r\u009b\u202e\b\x7f\x00 🎉')).toBe('Fixes:\n\t- proxy\\x1b[2J\\r\\x9b\\u202e\\x08\\x7f\\x00 🎉')
  })
})

describe('safeJson', () => {
  const value = {
    notes: 'a\x1b[2J\r\n\t\u0000\u007f\u0085\u009b\u202e\u2066\u200e\u061c\u2028\u2029\ud800 🎉 日本',
    nested: [{ kid: 'evil\u009d52;c;aGk=\u009c' }],
  }

  it('round-trips through JSON.parse', () => {
    expect(JSON.parse(safeJson(value))).toEqual(value)
    expect(JSON.parse(safeJson(value, 0))).toEqual(value)
  })

  it('leaves no raw control, bidi or separator character (JSON.stringify leaves C1 and bidi raw)', () => {
    expect(RAW.test(JSON.stringify(value))).toBe(true)
    expect(RAW.test(safeJson(value))).toBe(false)
    expect(safeJson(value)).toContain('\\u009b\\u202e')
  })
})

describe('the writers', () => {
  const sink = () => {
    const out = { text: '', write: (s: string) => void (out.text += s) }
    return out
  }

  it('printLines escapes each line on its own: a newline in a field cannot start a line', () => {
    const out = sink()
    printLines(out, ['reason: bad\nFAKE line', 'second'])
    expect(out.text).toBe('reason: bad\\nFAKE line\nsecond\n')
  })

  it('printLines prints release notes line by line, indented, with their tabs', () => {
    const out = sink()
    printLines(out, ['Release notes:', notesText('one\r\n\ttwo\x1b[2J\nthree\u202e', '  '), ''])
    expect(out.text).toBe('Release notes:\n  one\n  \ttwo\\x1b[2J\n  three\\u202e\n\n')
  })

  it('printText keeps the text’s own line breaks and escapes the rest', () => {
    const out = sink()
    printText(out, 'a\x1b[2J\tb\nc\r\n')
    expect(out.text).toBe('a\\x1b[2J\\tb\nc\\r\n')
  })

  it('formatUpdateEvent hands the notes over as notes, so that only they keep line breaks', () => {
    const out = sink()
    printLines(out, formatUpdateEvent({ type: 'notes', notes: '\nline 1\n\tline 2\x1b]52;c;aGk=\x07\n', url: 'https://example.com/\u202e' }))
    expect(out.text).toBe('\nRelease notes:\n  line 1\n  \tline 2\\x1b]52;c;aGk=\\x07\n  (https://example.com/\\u202e)\n\n')
  })

  it('a CliError prints line by line; a newline inside one of its lines is escaped', () => {
    const err = new RollbackFailedError('cannot copy\nFAKE', 'cp a b')
    expect(err.message).toBe('Rollback failed: cannot copy\nFAKE\nThe install path may not hold a working cco. Restore it by hand:\n  cp a b')
    const out = sink()
    printLines(out, err.lines)
    expect(out.text).toBe('Rollback failed: cannot copy\\nFAKE\nThe install path may not hold a working cco. Restore it by hand:\n  cp a b\n')
    expect(new CliError('one\ntwo').lines).toEqual(['one\ntwo'])
  })

  it('the console logger and log-file lines escape the message', () => {
    const out = sink()
    createConsoleLogger(out).warn('warning: \x1b[2J\nFAKE')
    expect(out.text).toBe('warning: \\x1b[2J\\nFAKE\n')
    const at = new Date('2026-01-02T03:04:05Z')
    expect(formatLogLine('error', 'kid \x1b]52;c;aGk=\x07\n[2026-01-01 00:00:00 UTC] [INFO] fake', at)).toBe(
      '[2026-01-02 03:04:05 UTC] [ERROR] kid \\x1b]52;c;aGk=\\x07\\n[2026-01-01 00:00:00 UTC] [INFO] fake',
    )
    const file = sink()
    createTimestampLogger(file, { now: () => at }).info('a\u009bb')
    expect(file.text).toBe('[2026-01-02 03:04:05 UTC] [INFO] a\\x9bb\n')
  })

  it('release tables escape their cells before measuring them, so the columns stay aligned', () => {
    const lines = table(['A', 'B'], [['x\x1b[2J', 'y'], ['long value', 'z\n']])
    expect(lines).toEqual(['A           B', 'x\\x1b[2J    y', 'long value  z\\n'])
    // Cut at 99 code points, never inside an emoji (half of one would be a lone surrogate).
    expect(auditDetail({ r: `${'a'.repeat(96)}😀😀😀` })).toBe(`r=${'a'.repeat(96)}😀…`)
  })
})

describe('every printer goes through terminal-text.ts', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))

  it('no file in client/src writes to stdout or stderr, or uses console, except the writers', () => {
    // cli.ts answers `--version` with a constant before anything is loaded, and escapes the
    // messages of the two errors it can print itself.
    const allowed = new Set(['client/src/output/terminal-text.ts', 'client/src/cli.ts'])
    const offenders: string[] = []
    for (const file of files(join(REPO_ROOT, 'client/src'))) {
      const name = relative(REPO_ROOT, file)
      if (allowed.has(name)) continue
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\b(?:stdout|stderr)\.write\(|\bconsole\.\w+\(/.test(line)) offenders.push(`${name}:${i + 1}: ${line.trim()}`)
        })
    }
    expect(offenders).toEqual([])
  })
})
