// `cco completion bash|zsh|fish`: the scripts a real cco prints, loaded into the real shells and
// asked what completes after `cco `, `cco daemon `, `cco update --ch`, `cco config get `… and
// checked against the commander program itself, so that no command or option is missing.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHANNELS } from '../../contract/manifest.ts'
import { KEYS } from '../../client/src/config/keys.ts'
import { CHECK_INTERVAL_WORDS } from '../../client/src/config/schema.ts'
import { buildProgram } from '../../client/src/main.ts'
import { completionScript, SHELLS, type Shell } from '../../client/src/output/completion.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show, SOURCE_ENTRY } from '../../support/cco-process.ts'
import { testApp } from '../support/app-context.ts'

// The client's own commander (its version, not the one the test tooling brings).
type Command = ReturnType<typeof buildProgram>

let home: CcoHome
const scripts = {} as Record<Shell, string>
const files = {} as Record<Shell, string>

beforeAll(async () => {
  home = makeHome('cco-completion-')
  for (const shell of SHELLS) {
    const r = await runCco(SOURCE_ENTRY, ['completion', shell], { home: home.home })
    expect(r.code, show(r)).toBe(0)
    expect(r.stderr).toBe('')
    scripts[shell] = r.stdout
    files[shell] = join(home.home, shell === 'zsh' ? '_cco' : `cco.${shell}`)
    writeFileSync(files[shell], r.stdout)
  }
}, 60_000)
afterAll(() => home.cleanup())

function shell(cmd: string, args: string[], input: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: home.home, LANG: 'C.UTF-8' } })
  expect(r.status, `${cmd} failed:\n${r.stdout}\n${r.stderr}`).toBe(0)
  expect(r.stderr).toBe('')
  return r.stdout
}

/** What bash's completion function answers for the words of a command line (the last is being typed). */
function bashComplete(words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ')
  const out = shell('bash', ['--norc', '--noprofile'], `source '${files.bash}'\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMPREPLY=()\n_cco\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`)
  return out.split('\n').filter(Boolean)
}

/**
 * zsh: the script loaded as compinit loads it (from fpath), then its `_cco` run with the
 * completion system's `words` and `CURRENT`, with `compadd` (the builtin only works inside a
 * live completion widget) replaced by a function that prints what it is given.
 */
function zshComplete(words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ')
  const out = shell(
    'zsh',
    ['-f'],
    [
      `fpath=('${home.home}' $fpath)`,
      // -u: the temp dir is not one compaudit trusts; without it compinit asks on a terminal.
      `autoload -Uz compinit && compinit -u -D -d '${home.home}/.zcompdump'`,
      // compinit reads the `#compdef cco` line and binds _cco to cco without sourcing the file.
      `[ "$_comps[cco]" = _cco ] || { echo "compinit did not bind cco to _cco" >&2; exit 1; }`,
      'compadd() { [ "$1" = -- ] && shift; printf "%s\\n" "$@"; }',
      'local -a words; local CURRENT',
      `words=(${quoted}); CURRENT=${words.length}`,
      '_cco',
    ].join('\n') + '\n',
  )
  return out.split('\n').filter(Boolean).filter((w) => w.startsWith(words.at(-1)!))
}

/** fish: `complete -C` on the script as it is installed (~/.config/fish/completions/cco.fish). */
function fishComplete(line: string): string[] {
  const out = shell('fish', ['--no-config', '-c', `source '${files.fish}'; complete -C '${line}'`], '')
  return out.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!)
}

function program(): Command {
  return buildProgram(testApp(home.home), () => {})
}
const helpOf = () => program().createHelp()
const visible = (cmd: Command) => helpOf().visibleCommands(cmd).filter((c) => c.name() !== 'help')
const TOP = ['version', 'config', 'update', 'rollback', 'fleet', 'completion', 'run', 'health', 'daemon', 'release', 'help']
const DAEMON = ['start', 'stop', 'restart', 'status', 'logs', 'install', 'uninstall', 'help']
const RELEASE = ['status', 'promote', 'rollout', 'halt', 'guard', 'resume', 'yank', 'unyank', 'audit', 'fleet', 'help']
const sorted = (a: readonly string[]) => [...a].sort()

function commandAt(path: string[]): Command {
  let cmd = program()
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!
  return cmd
}

/** One row of a generated table (`__cco_options`, `__cco_subcommands`) in any of the three scripts. */
function table(script: string, fn: string, key: string): string[] {
  const body = script.slice(script.indexOf(`${fn}() {`) >= 0 ? script.indexOf(`${fn}() {`) : script.indexOf(`function ${fn}\n`))
  const block = body.slice(0, body.search(/\n(\}|end)\n/))
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`'${k}'\\) echo '([^']*)'`).exec(block) ?? new RegExp(`case '${k}'\\n\\s+string split ' ' -- '([^']*)'`).exec(block)
  return m ? m[1]!.split(' ') : []
}

describe('cco completion bash', () => {
  it('completes the commands, a command group, an option, config keys and the release commands', () => {
    expect(sorted(bashComplete(['cco', '']))).toEqual(sorted(TOP))
    expect(sorted(bashComplete(['cco', 'daemon', '']))).toEqual(sorted(DAEMON))
    expect(sorted(bashComplete(['cco', 'update', '--ch']))).toEqual(['--channel', '--check'])
    expect(sorted(bashComplete(['cco', 'config', 'get', '']))).toEqual(sorted(KEYS.map((k) => k.key)))
    expect(sorted(bashComplete(['cco', 'release', '']))).toEqual(sorted(RELEASE))
  })

  it('completes the fixed values: channels, check intervals, booleans, shells, event outcomes', () => {
    expect(bashComplete(['cco', 'update', '--channel', ''])).toEqual([...CHANNELS])
    expect(bashComplete(['cco', 'release', 'promote', '2026.11.3', '--channel', 'b'])).toEqual(['beta'])
    expect(bashComplete(['cco', 'config', 'set', 'updates.check_interval', ''])).toEqual([...CHECK_INTERVAL_WORDS])
    expect(bashComplete(['cco', 'config', 'set', 'updates.channel', ''])).toEqual([...CHANNELS])
    expect(bashComplete(['cco', 'config', 'set', 'updates.auto_install', ''])).toEqual(['true', 'false'])
    // A free-text value has no list, and a key cco writes itself cannot be set.
    expect(bashComplete(['cco', 'config', 'set', 'fleet.name', ''])).toEqual([])
    expect(bashComplete(['cco', 'config', 'set', 'updates.last'])).toEqual([])
    expect(bashComplete(['cco', 'completion', ''])).toEqual([...SHELLS])
    expect(bashComplete(['cco', 'release', 'fleet', 'hosts', '--outcome', 'roll'])).toEqual(['rolled-back'])
  })

  it('skips option values while walking and offers no subcommand after a positional argument', () => {
    // `--server URL` takes the next word: `status` after it is still a subcommand position of `release`? No: it is the URL.
    expect(bashComplete(['cco', 'release', 'fleet', '--server', 'http://x', 'ev'])).toEqual(['events'])
    expect(bashComplete(['cco', 'release', 'yank', 'status', ''])).toEqual([])
    // `cco release fleet` alone is the summary: its options complete on the group.
    expect(sorted(bashComplete(['cco', 'release', 'fleet', '--']))).toEqual(['--help', '--json', '--server', '--token-file'])
  })
})

describe('cco completion zsh', () => {
  it('parses (zsh -n) and completes through compinit like bash does', () => {
    shell('zsh', ['-n', files.zsh], '')
    expect(sorted(zshComplete(['cco', '']))).toEqual(sorted(TOP))
    expect(sorted(zshComplete(['cco', 'daemon', '']))).toEqual(sorted(DAEMON))
    expect(sorted(zshComplete(['cco', 'update', '--ch']))).toEqual(['--channel', '--check'])
    expect(sorted(zshComplete(['cco', 'config', 'get', '']))).toEqual(sorted(KEYS.map((k) => k.key)))
    expect(sorted(zshComplete(['cco', 'release', '']))).toEqual(sorted(RELEASE))
    expect(zshComplete(['cco', 'config', 'set', 'updates.check_interval', ''])).toEqual([...CHECK_INTERVAL_WORDS])
  })
})

describe('cco completion fish', () => {
  it('completes with complete -C like bash does', () => {
    expect(sorted(fishComplete('cco '))).toEqual(sorted(TOP))
    expect(sorted(fishComplete('cco daemon '))).toEqual(sorted(DAEMON))
    expect(sorted(fishComplete('cco update --ch'))).toEqual(['--channel', '--check'])
    expect(sorted(fishComplete('cco config get '))).toEqual(sorted(KEYS.map((k) => k.key)))
    expect(sorted(fishComplete('cco release '))).toEqual(sorted(RELEASE))
    expect(sorted(fishComplete('cco update --channel '))).toEqual(sorted(CHANNELS))
    expect(sorted(fishComplete('cco config set updates.enabled '))).toEqual(['false', 'true'])
  })
})

describe('no drift', () => {
  it('every visible command and option of the program appears in every script', () => {
    const walk = (cmd: Command, path: string[], out: { path: string[]; flags: string[] }[]) => {
      out.push({ path, flags: helpOf().visibleOptions(cmd).flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)) })
      for (const c of visible(cmd)) walk(c, [...path, c.name()], out)
      return out
    }
    const nodes = walk(program(), [], [])
    expect(nodes.length).toBeGreaterThan(30)
    for (const shell of SHELLS) {
      for (const n of nodes) {
        const key = n.path.join(' ')
        expect(table(scripts[shell], '__cco_options', key), `${shell}: options of "${key}"`).toEqual(expect.arrayContaining(n.flags))
        expect(n.flags.length).toBeGreaterThan(0)
        const subcommands = visible(commandAt(n.path)).map((c) => c.name())
        if (subcommands.length) expect(table(scripts[shell], '__cco_subcommands', key), `${shell}: subcommands of "${key}"`).toEqual([...subcommands, 'help'])
      }
    }
    // The script is generated from the program: what the shells complete is what commander accepts.
    expect(bashComplete(['cco', 'daemon', 'logs', '-'])).toEqual(expect.arrayContaining(['-n', '--lines', '-f', '--follow', '--json']))
  })

  it('a command added to the program shows up in every script without another change', () => {
    const p = program()
    p.command('frobnicate').description('test only').option('--level <n>').addOption(p.createOption('--mode <m>').choices(['fast', 'slow']))
    for (const shell of SHELLS) {
      const text = completionScript(p, shell).join('\n')
      expect(text).toContain('frobnicate')
      expect(text).toContain('--level')
      expect(text).toContain('fast slow')
    }
  })
})
