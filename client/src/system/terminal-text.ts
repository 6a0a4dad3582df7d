// The one place where text reaches a terminal or a log line. Rule: text that did not come from
// our own templates (manifests, JWS headers, broker answers, config values, file contents, paths)
// never reaches a terminal raw. Every C0 and C1 control character (ESC, CSI, OSC, CR, BS, NUL,
// DEL, U+0080–U+009F), the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069,
// U+200E, U+200F, U+061C), U+2028/U+2029 and lone surrogates are made visible as JavaScript
// escapes: `\t`, `\n`, `\r`, else `\xHH` below U+0100 and `\uHHHH` above (`\x1b`, `\x9b`,
// `\u202e`, `\ud800`). Printable Unicode (accents, CJK, emoji with their joiners) is kept. A
// backslash is kept as it is (Windows paths stay readable, and escaping twice changes nothing),
// so the visible forms show that something was there, not how to reverse it.
//
// Human output is a list of lines built from our templates: printLines() escapes each line on
// its own, so a newline inside a field cannot start a line of its own. Release notes are the one
// text printed with its own line breaks and tabs (`notesText()`); `--json` goes through
// safeJson(); log lines through safeText() in formatLogLine (system/logger.ts).
//
// It sits in system/ because the logger and the prompt, below the commands, write through it;
// the printers above the commands reach it through output/terminal-text.ts.

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')

function visible(c: string): string {
  if (c === '\t') return '\\t'
  if (c === '\n') return '\\n'
  if (c === '\r') return '\\r'
  const n = c.charCodeAt(0)
  return n < 0x100 ? `\\x${hex(n, 2)}` : `\\u${hex(n, 4)}`
}

/** One line of text: every control character, newline and tab included, made visible. */
export function safeText(s: string): string {
  return s.replace(UNSAFE, visible)
}

/** Release notes: like safeText, but `\n` and `\t` are kept. */
export function safeMultiline(s: string): string {
  return s.replace(UNSAFE, (c) => (c === '\n' || c === '\t' ? c : visible(c)))
}

// JSON.stringify escapes C0 and lone surrogates but not DEL, C1, the bidi controls or
// U+2028/U+2029. None of them can appear outside a string in JSON, so replacing them anywhere
// with `\uXXXX` keeps the document valid and parsing to the same value.
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** `JSON.stringify(value, null, indent)` with nothing a terminal would act on. */
export function safeJson(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(JSON_UNSAFE, (c) => `\\u${hex(c.charCodeAt(0), 4)}`)
}

/** Release notes as one entry of printLines(): printed line by line, each line indented, tabs kept. */
export interface NotesText {
  readonly notes: string
  readonly indent: string
}

export function notesText(notes: string, indent = ''): NotesText {
  return { notes, indent }
}

export type OutputLine = string | NotesText

/** stdout or stderr as cco writes to them (a terminal when `isTTY`). */
export interface OutStream {
  write(text: string): unknown
  isTTY?: boolean
}

export interface TextSink {
  write(text: string): unknown
}

function render(line: OutputLine): string[] {
  if (typeof line === 'string') return [safeText(line)]
  // Split first (CRLF notes are common), so that no line break is left for safeMultiline to keep.
  return line.notes.split(/\r?\n/).map((l) => `${line.indent}${safeMultiline(l)}`)
}

/** The writer of human output: each line escaped on its own, then `\n`. */
export function printLines(out: TextSink, lines: readonly OutputLine[]): void {
  const text = lines.flatMap(render).map((l) => `${l}\n`).join('')
  if (text) out.write(text)
}

/** Text with its own line breaks (a file re-printed, a library's help text): each line escaped. */
export function printText(out: TextSink, text: string): void {
  if (text) out.write(text.split('\n').map(safeText).join('\n'))
}

/** `--json`: one JSON document and a newline. */
export function printJson(out: TextSink, value: unknown): void {
  out.write(`${safeJson(value)}\n`)
}
