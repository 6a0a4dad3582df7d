// The printers' import of the one writer (system/terminal-text.ts, which the logger and the
// prompt below the commands write through too): main.ts, cli-daemon.ts and output/* use this.
export {
  notesText,
  printJson,
  printLines,
  printText,
  safeJson,
  safeMultiline,
  safeText,
  type NotesText,
  type OutputLine,
  type TextSink,
} from '../system/terminal-text.ts'
