// `cco completion bash|zsh|fish`: completion scripts generated from the commander program
// itself (commands, subcommands, options, fixed value lists), so they cannot drift from the CLI.
// Each script embeds the same tables (as `case` functions) and a small walker that finds the
// command path, the option waiting for a value and the positional argument under the cursor.
import type { Command, Option } from 'commander'
import { KEYS } from '../config/keys.ts'
import { CHECK_INTERVAL_WORDS } from '../config/schema.ts'
import { CHANNELS } from '../../../contract/manifest.ts'

export const SHELLS = ['bash', 'zsh', 'fish'] as const
export type Shell = (typeof SHELLS)[number]

export interface CompletionOption {
  /** `-y`, `--yes`: every spelling. */
  flags: string[]
  takesValue: boolean
  /** The fixed values of the option's argument (commander `.choices()`), else empty. */
  values: string[]
  /** Its value is a file name (`--token-file <file>`): the shells complete paths. */
  file: boolean
}

export interface CompletionArgument {
  name: string
  values: string[]
  /** Values that depend on the previous positional argument (`config set KEY <TAB>`). */
  byPrevious: Record<string, string[]>
}

export interface CompletionNode {
  /** Command names from the program down, `[]` for `cco` itself. */
  path: string[]
  commands: CompletionNode[]
  options: CompletionOption[]
  args: CompletionArgument[]
}

// Commander keeps which subcommand runs when none is named (`cco release fleet` is its hidden
// `summary`) in a field without a getter; its options are completed on the parent.
const defaultSubcommand = (cmd: Command): string | null => (cmd as unknown as { _defaultCommandName: string | null })._defaultCommandName ?? null

function optionOf(o: Option): CompletionOption {
  const flags = [o.short, o.long].filter((f): f is string => !!f)
  return { flags, takesValue: o.required || o.optional, values: [...(o.argChoices ?? [])], file: /<(file|path)>/.test(o.flags) }
}

/**
 * Values no `.choices()` can carry without changing how the argument is checked: the keys of
 * `config get`/`config set`, and for `config set` the values of the keys that take a fixed list.
 */
function argumentHints(path: string): Record<number, Pick<CompletionArgument, 'values' | 'byPrevious'>> {
  if (path === 'config get') return { 0: { values: KEYS.map((k) => k.key), byPrevious: {} } }
  if (path !== 'config set') return {}
  const settable = KEYS.filter((k) => !k.readOnly && k.parse)
  const byPrevious: Record<string, string[]> = {}
  for (const k of settable) {
    const values = fixedValues(k.parse!)
    if (values.length) byPrevious[k.key] = values
  }
  return { 0: { values: settable.map((k) => k.key), byPrevious: {} }, 1: { values: [], byPrevious } }
}

const accepts = (parse: (input: string) => unknown, input: string) => {
  try {
    parse(input)
    return true
  } catch {
    return false
  }
}

/**
 * The fixed list a key's own parser takes, found by asking it: a list fits when the parser takes
 * every value of it and refuses a word outside it (a free-text key takes that word too).
 */
function fixedValues(parse: (input: string) => unknown): string[] {
  if (accepts(parse, 'unlisted')) return []
  const lists = [['true', 'false'], [...CHANNELS], [...CHECK_INTERVAL_WORDS]]
  return lists.find((l) => l.every((v) => accepts(parse, v))) ?? []
}

/** The visible command tree of `program`, as the scripts complete it. */
export function completionTree(program: Command): CompletionNode {
  const help = program.createHelp()
  const walk = (cmd: Command, path: string[]): CompletionNode => {
    const options = help.visibleOptions(cmd).map(optionOf)
    const fallback = defaultSubcommand(cmd)
    const hidden = fallback ? cmd.commands.find((c) => c.name() === fallback) : undefined
    if (hidden) for (const o of help.visibleOptions(hidden).map(optionOf)) if (!options.some((p) => p.flags.join() === o.flags.join())) options.push(o)
    const hints = argumentHints(path.join(' '))
    const args = cmd.registeredArguments.map((a, i) => ({
      name: a.name(),
      values: [...(a.argChoices ?? []), ...(hints[i]?.values ?? [])],
      byPrevious: hints[i]?.byPrevious ?? {},
    }))
    const commands = help
      .visibleCommands(cmd)
      .filter((c) => c.name() !== 'help')
      .map((c) => walk(c, [...path, c.name()]))
    // `cco help <command>`: commander's own help command, completed with the command names.
    if (help.visibleCommands(cmd).some((c) => c.name() === 'help')) {
      commands.push({ path: [...path, 'help'], commands: [], options: [], args: [{ name: 'command', values: commands.map((c) => c.path.at(-1)!), byPrevious: {} }] })
    }
    return { path, commands, options, args }
  }
  return walk(program, [])
}

export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.commands.flatMap(allNodes)]
}

// Every word a script contains comes from our own program, but a script is code: refuse to
// generate one around a word that a shell would read as more than a word.
const WORD = /^[A-Za-z0-9._:@%+,/=-]+$/
function words(list: readonly string[]): string {
  for (const w of list) if (!WORD.test(w)) throw new Error(`completion: refusing to put ${JSON.stringify(w)} into a shell script`)
  return list.join(' ')
}

interface Tables {
  subcommands: [string, string][]
  options: [string, string][]
  valueOptions: [string, string][]
  fileOptions: [string, string][]
  optionValues: [string, string][]
  argumentValues: [string, string][]
  previousValues: [string, string][]
}

/** The tables the walker reads, keyed `path`, `path|option`, `path|index` or `path|index|previous`. */
function tables(root: CompletionNode): Tables {
  const t: Tables = { subcommands: [], options: [], valueOptions: [], fileOptions: [], optionValues: [], argumentValues: [], previousValues: [] }
  for (const n of allNodes(root)) {
    const key = n.path.join(' ')
    if (n.commands.length) t.subcommands.push([key, words(n.commands.map((c) => c.path.at(-1)!))])
    if (n.options.length) t.options.push([key, words(n.options.flatMap((o) => o.flags))])
    const valued = n.options.filter((o) => o.takesValue)
    if (valued.length) t.valueOptions.push([key, words(valued.flatMap((o) => o.flags))])
    const files = valued.filter((o) => o.file)
    if (files.length) t.fileOptions.push([key, words(files.flatMap((o) => o.flags))])
    for (const o of valued) if (o.values.length) for (const f of o.flags) t.optionValues.push([`${key}|${f}`, words(o.values)])
    n.args.forEach((a, i) => {
      if (a.values.length) t.argumentValues.push([`${key}|${i}`, words(a.values)])
      for (const [prev, values] of Object.entries(a.byPrevious)) t.previousValues.push([`${key}|${i}|${prev}`, words(values)])
    })
  }
  return t
}

const HEADER = (shell: Shell) => [
  `# cco completion for ${shell}, generated by \`cco completion ${shell}\` from cco's own commands.`,
  '# Generate it again after an update of cco that adds commands or options.',
]

/** A POSIX-ish `case` function (bash and zsh read the same syntax). */
function caseFunction(name: string, rows: [string, string][], arg = '$1'): string[] {
  return [`${name}() {`, `  case "${arg}" in`, ...rows.map(([k, v]) => `    '${k}') echo '${v}' ;;`), '  esac', '}']
}

function shFunctions(t: Tables): string[] {
  return [
    ...caseFunction('__cco_subcommands', t.subcommands),
    ...caseFunction('__cco_options', t.options),
    ...caseFunction('__cco_value_options', t.valueOptions),
    ...caseFunction('__cco_file_options', t.fileOptions),
    ...caseFunction('__cco_option_values', t.optionValues),
    ...caseFunction('__cco_argument_values', t.argumentValues),
    ...caseFunction('__cco_previous_values', t.previousValues),
  ]
}

// The walker, the same in bash and zsh: the words before the cursor give the command path (a
// command name while no positional argument was seen), skip option values, and count the
// positional arguments. `__cco_candidates WORD...` then echoes what may come next and sets
// __cco_files when the shell should complete file names instead.
const SH_WALKER = [
  '__cco_candidates() {',
  '  local cpath="" expect="" n=0 prev="" w',
  '  __cco_files=""',
  '  for w in "$@"; do',
  '    if [ -n "$expect" ]; then expect=""; continue; fi',
  '    case "$w" in',
  '      --*=*) continue ;;',
  '      -*) case " $(__cco_value_options "$cpath") " in *" $w "*) expect="$w" ;; esac; continue ;;',
  '    esac',
  '    if [ "$n" -eq 0 ]; then',
  '      case " $(__cco_subcommands "$cpath") " in *" $w "*) cpath="${cpath:+$cpath }$w"; continue ;; esac',
  '    fi',
  '    prev="$w"; n=$((n + 1))',
  '  done',
  '  if [ -n "$expect" ]; then',
  '    case " $(__cco_file_options "$cpath") " in *" $expect "*) __cco_files=1 ;; esac',
  '    __cco_option_values "$cpath|$expect"',
  '    return',
  '  fi',
  '  case "$__cco_cur" in -*) __cco_options "$cpath"; return ;; esac',
  '  [ "$n" -eq 0 ] && __cco_subcommands "$cpath"',
  '  __cco_argument_values "$cpath|$n"',
  '  __cco_previous_values "$cpath|$n|$prev"',
  '}',
]

function bashScript(t: Tables): string[] {
  return [
    ...HEADER('bash'),
    '# Install: source <(cco completion bash)   (e.g. in ~/.bashrc)',
    ...shFunctions(t),
    ...SH_WALKER,
    '_cco() {',
    '  local __cco_cur="${COMP_WORDS[COMP_CWORD]}" __cco_files=""',
    '  local candidates',
    '  candidates="$(__cco_candidates "${COMP_WORDS[@]:1:COMP_CWORD-1}")"',
    '  # The walker runs in a subshell; ask again whether the value is a file name.',
    '  __cco_candidates "${COMP_WORDS[@]:1:COMP_CWORD-1}" >/dev/null',
    '  if [ -n "$__cco_files" ]; then',
    '    COMPREPLY=($(compgen -f -- "$__cco_cur"))',
    '  else',
    '    COMPREPLY=($(compgen -W "$candidates" -- "$__cco_cur"))',
    '  fi',
    '}',
    'complete -F _cco cco',
  ]
}

function zshScript(t: Tables): string[] {
  return [
    '#compdef cco',
    ...HEADER('zsh'),
    '# Install: cco completion zsh > ~/.zsh/completions/_cco, with fpath=(~/.zsh/completions $fpath)',
    '# before compinit in ~/.zshrc.',
    ...shFunctions(t),
    ...SH_WALKER,
    '_cco() {',
    '  local __cco_cur="${words[CURRENT]}" __cco_files=""',
    '  local -a candidates',
    '  # Word splitting is off in zsh: split the walker\'s answer on blanks explicitly.',
    '  candidates=(${=$(__cco_candidates "${(@)words[2,CURRENT-1]}")})',
    '  __cco_candidates "${(@)words[2,CURRENT-1]}" >/dev/null',
    '  if [ -n "$__cco_files" ]; then',
    '    _files',
    '  else',
    '    compadd -- "${(@)candidates}"',
    '  fi',
    '}',
    // Loaded through fpath and compinit, the file is the body of _cco: define, then run it.
    'if [ "$funcstack[1]" = "_cco" ]; then _cco "$@"; else compdef _cco cco; fi',
  ]
}

function fishScript(t: Tables): string[] {
  const fishCase = (name: string, rows: [string, string][]) => [
    `function ${name}`,
    '    switch $argv[1]',
    ...rows.flatMap(([k, v]) => [`        case '${k}'`, `            string split ' ' -- '${v}'`]),
    '    end',
    'end',
  ]
  return [
    ...HEADER('fish'),
    '# Install: cco completion fish > ~/.config/fish/completions/cco.fish',
    ...fishCase('__cco_subcommands', t.subcommands),
    ...fishCase('__cco_options', t.options),
    ...fishCase('__cco_value_options', t.valueOptions),
    ...fishCase('__cco_file_options', t.fileOptions),
    ...fishCase('__cco_option_values', t.optionValues),
    ...fishCase('__cco_argument_values', t.argumentValues),
    ...fishCase('__cco_previous_values', t.previousValues),
    'function __cco_complete',
    '    set -l tokens (commandline -opc)',
    '    set -l cur (commandline -ct)',
    '    set -l cpath ""',
    '    set -l expect ""',
    '    set -l n 0',
    '    set -l prev ""',
    '    for w in $tokens[2..-1]',
    '        if test -n "$expect"',
    '            set expect ""',
    '            continue',
    '        end',
    '        if string match -q -- "--*=*" $w',
    '            continue',
    '        else if string match -q -- "-*" $w',
    '            if contains -- $w (__cco_value_options "$cpath")',
    '                set expect $w',
    '            end',
    '            continue',
    '        end',
    '        if test $n -eq 0; and contains -- $w (__cco_subcommands "$cpath")',
    '            set cpath (string trim -- "$cpath $w")',
    '            continue',
    '        end',
    '        set prev $w',
    '        set n (math $n + 1)',
    '    end',
    '    if test -n "$expect"',
    '        if contains -- $expect (__cco_file_options "$cpath")',
    '            __fish_complete_path $cur',
    '            return',
    '        end',
    '        __cco_option_values "$cpath|$expect"',
    '        return',
    '    end',
    '    if string match -q -- "-*" $cur',
    '        __cco_options "$cpath"',
    '        return',
    '    end',
    '    if test $n -eq 0',
    '        __cco_subcommands "$cpath"',
    '    end',
    '    __cco_argument_values "$cpath|$n"',
    '    __cco_previous_values "$cpath|$n|$prev"',
    'end',
    'complete -c cco -e',
    'complete -c cco -f -a "(__cco_complete)"',
  ]
}

/** The completion script for `shell`, as lines (no tabs or control characters: printed through the one writer). */
export function completionScript(program: Command, shell: Shell): string[] {
  const t = tables(completionTree(program))
  if (shell === 'bash') return bashScript(t)
  if (shell === 'zsh') return zshScript(t)
  return fishScript(t)
}
