// Control characters in strings the broker keeps: which ones count, how to name one in a
// refusal reason, and the visible escapes stored in their place. A CR or LF in a value that
// reaches an HTTP header (a redirect's Location) makes workerd refuse the header, and with it
// the whole response; ESC and the C1 controls (U+009B is a one-byte CSI) drive the terminal of
// whoever reads the value; U+2028/U+2029 are line breaks to many readers. Unpaired UTF-16
// surrogates are treated alike: SQLite stores one as three bytes that read back as three
// U+FFFD, so a stored value would no longer be the one checked (a yank reason or notes could
// come back over their size cap and fail every later signing). Pure.

/** C0 (U+0000–U+001F, with TAB, LF and CR), DEL, C1 (U+0080–U+009F), U+2028 and U+2029. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
/** A high surrogate without its low half, or a low one without its high half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g')
/** What JSON.stringify leaves as it is: DEL, C1, U+2028, U+2029. */
const UNESCAPED_BY_JSON = /[\u007f-\u009f\u2028\u2029]/g
/** In release notes, text keeps its tabs and line breaks; the rest is neutralized. */
const NOTES_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g

/** `U+000D` for a character. */
export function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
}

/**
 * The first control character or unpaired surrogate of the text, described for a refusal
 * reason (`a control character (U+000D)`), or null when it has none.
 */
export function firstControlChar(text: string): string | null {
  const control = CONTROL.exec(text)
  const lone = LONE_SURROGATE.exec(text)
  if (control && (!lone || control.index < lone.index)) return `a control character (${codePoint(control[0])})`
  return lone ? `an unpaired surrogate (${codePoint(lone[0])})` : null
}

/**
 * The text with every control character and unpaired surrogate replaced by its visible escape
 * (`\u000D`), so that a refused value can still be shown and keyed by, but never carries the
 * character itself.
 */
export function escapeControlChars(text: string): string {
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`
  return text.replace(CONTROL_ALL, escape).replace(LONE_SURROGATE_ALL, escape)
}

/** A quoted value for messages: JSON.stringify, plus escapes for what it leaves raw. */
export function quote(text: string): string {
  return JSON.stringify(text).replace(UNESCAPED_BY_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Release notes as the broker keeps them: tabs, line breaks (LF, CR, U+2028, U+2029) and all
 * printable text stay; every other C0 control, DEL, C1 control and unpaired surrogate becomes
 * U+FFFD. Notes never go into a header, but clients released before they escaped untrusted
 * text print them as they are, where an ESC sequence would be obeyed by the terminal.
 */
export function neutralizeNotes(text: string): string {
  return text.replace(NOTES_CONTROL, '\uFFFD').replace(LONE_SURROGATE_ALL, '\uFFFD')
}
