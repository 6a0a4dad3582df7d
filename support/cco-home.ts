// A temporary HOME for one cco "host": config with pinned keys and a broker URL, and an
// installed binary at ~/.local/bin/cco.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CcoHome {
  home: string
  configFile: string
  stateDir: string
  installPath: string
  backupPath: string
  binDir: string
  journal: string
  /** Write config.toml (keys pinned, server set) plus any extra TOML. */
  writeConfig(o: { server?: string; keys?: { kid: string; x: string }[]; extra?: string; channel?: string }): void
  /** Write config.toml exactly as given (for tests of what a hand-written file does). */
  writeConfigText(text: string): void
  install(binary: string | Buffer): void
  read(path: string): string
  cleanup(): void
}

export function makeHome(prefix = 'cco-home-'): CcoHome {
  const home = mkdtempSync(join(tmpdir(), prefix))
  const binDir = join(home, '.local', 'bin')
  const configFile = join(home, '.config', 'cco', 'config.toml')
  const stateDir = join(home, '.local', 'state', 'cco')
  const writeConfigText = (text: string) => {
    mkdirSync(join(home, '.config', 'cco'), { recursive: true })
    writeFileSync(configFile, text)
  }
  return {
    home,
    configFile,
    stateDir,
    binDir,
    installPath: join(binDir, 'cco'),
    backupPath: join(binDir, 'cco.backup'),
    journal: join(stateDir, 'install-journal.json'),
    writeConfig(o) {
      const lines = ['# test host', '[updates]']
      if (o.server) lines.push(`server = ${JSON.stringify(o.server)}`)
      if (o.channel) lines.push(`channel = ${JSON.stringify(o.channel)}`)
      lines.push('')
      for (const k of o.keys ?? []) lines.push('[[trust.keys]]', `kid = ${JSON.stringify(k.kid)}`, `x = ${JSON.stringify(k.x)}`, '')
      if (o.extra) lines.push(o.extra)
      writeConfigText(lines.join('\n') + '\n')
    },
    writeConfigText,
    install(binary) {
      mkdirSync(binDir, { recursive: true })
      const target = join(binDir, 'cco')
      if (typeof binary === 'string') copyFileSync(binary, target)
      else writeFileSync(target, binary)
      chmodSync(target, 0o755)
    },
    read: (path) => readFileSync(path, 'utf8'),
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  }
}
