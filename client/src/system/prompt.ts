// Asks a yes/no question on the terminal: the question on stderr, the answer from stdin.
import { createInterface } from 'node:readline'
import { printLines, printText, type OutStream } from './terminal-text.ts'

/** Empty, `y` or `yes` mean yes (the default is yes: `[Y/n]`); end of input means no. */
export function askYesNo(question: string, stdin: NodeJS.ReadableStream, stderr: OutStream): Promise<boolean> {
  return new Promise((resolve) => {
    printText(stderr, question)
    const rl = createInterface({ input: stdin, terminal: false })
    let answered = false
    rl.once('line', (line) => {
      answered = true
      rl.close()
      resolve(/^\s*(y|yes)?\s*$/i.test(line))
    })
    rl.once('close', () => {
      if (!answered) {
        printLines(stderr, [''])
        resolve(false)
      }
    })
  })
}
