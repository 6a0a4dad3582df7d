// Maps argv to a command, prints its result (human or --json) and returns the exit code
// (client/README.md, "Exit codes") to cli.ts, which is the only place that ends the process.
// Command modules are imported when their command runs (`await import`; esbuild keeps them
// lazily initialised in the one-file bundle), so a command pays for its own module only.
import { existsSync } from 'node:fs'
import { Argument, Command, CommanderError, Option } from 'commander'
import { CHANNELS, type Channel } from '../../contract/manifest.ts'
import { isVersion } from '../../contract/version.ts'
import { VERSION } from './build-info.ts'
import { registerDaemonCommands } from './cli-daemon.ts'
import { registerReleaseCommands } from './cli-release.ts'
import { selector, type CommandSelection } from './command-selection.ts'
import type { UpdateEvent } from './commands/update.ts'
import { reportUnknownConfigKeysTo } from './config/unknown-keys.ts'
import { currentPlatform, wantsFancyOutput, type AppContext } from './context.ts'
import { CliError, ExitCode, messageOf, UsageError } from './errors.ts'
import { completionScript, SHELLS, type Shell } from './output/completion.ts'
import { jsonDocument, swapJson, updateJson } from './output/json.ts'
import { formatConfig, formatFleetReport, formatRollback, formatUpdateEvent, formatVersion } from './output/format.ts'
import { printJson, printLines, printText } from './output/terminal-text.ts'
import { systemClock } from './system/clock.ts'
import { createConsoleLogger } from './system/logger.ts'
import { resolvePaths } from './system/paths.ts'


export function buildProgram(app: AppContext, select: (s: CommandSelection) => void): Command {
  const pick = selector(select)
  const program = new Command('cco')
    .description('cco: command-line tool and daemon that updates itself from signed release channels')
    .option('-V, --version', 'print "cco <version>" and exit (no network, no side effects)')
    // The program's own options only before a command: `cco release fleet hosts --version V`
    // is the command's filter, not the program's --version.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => printText(app.stdout, s), writeErr: (s) => printText(app.stderr, s) })
    .showHelpAfterError('(run "cco help" for the list of commands)')
    .helpCommand(true)

  program
    .command('version')
    .description('show the version, channel, broker and platform')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const info = (await import('./commands/version.ts')).versionCommand(a)
        if (info.config_error) a.logger.warn(`warning: ${info.config_error}`)
        return { json: info, lines: formatVersion(info) }
      }),
    )

  const config = program.command('config').description('show or change the configuration').exitOverride()
  config
    .command('show')
    .description('show the effective configuration')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const view = (await import('./commands/config-show.ts')).configShowCommand(a)
        return { json: view, lines: formatConfig(view) }
      }),
    )
  config
    .command('get')
    .description('print one value as "KEY = VALUE"')
    .argument('<key>', 'e.g. updates.channel, updates.last_check')
    .option('--json', 'print one JSON object')
    .action((key: string, o: { json?: boolean }) =>
      pick(o, async (a) => {
        const v = (await import('./commands/config-get.ts')).configGetCommand(a, key)
        return { json: v, lines: [`${v.key} = ${v.value}`] }
      }),
    )
  config
    .command('set')
    .description('validate and store one value (comments and unknown keys are kept)')
    .argument('<key>', 'e.g. updates.channel')
    .argument('<value>', 'e.g. beta')
    .option('--json', 'print one JSON object')
    .action((key: string, value: string, o: { json?: boolean }) =>
      pick(o, async (a) => {
        const v = (await import('./commands/config-set.ts')).configSetCommand(a, key, value)
        return { json: v, lines: [`${v.key} = ${v.value}`] }
      }),
    )
  config
    .command('path')
    .description('print the path of the config file')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const v = (await import('./commands/config-path.ts')).configPathCommand(a)
        return { json: v, lines: [v.path] }
      }),
    )

  program
    .command('update')
    .description('check for a new version and install it (verified, with automatic rollback)')
    .option('--check', 'only check; never install')
    .option('-y, --yes', 'do not ask before installing')
    .option('--prompt', 'ask before installing even without a terminal (end of input means no)')
    .option('-q, --quiet', 'no progress bar (results, prompts and errors still print)')
    .addOption(new Option('--channel <channel>', 'use this channel for this run').choices([...CHANNELS]))
    // The command's own --version (positional options): `cco --version` stays the self-test.
    .option('--version <version>', 'install exactly this version (a live release that is not yanked)')
    .option('--allow-downgrade', 'with --version: install it even when it is older than the running version')
    .option('--full', 'download the whole archive, never a differential update')
    .option('--json', 'print one JSON object')
    .action((o: { check?: boolean; yes?: boolean; prompt?: boolean; quiet?: boolean; channel?: Channel; version?: string; allowDowngrade?: boolean; full?: boolean; json?: boolean }) =>
      pick(o, async (a) => {
        if (o.version !== undefined && !isVersion(o.version)) throw new UsageError(`--version ${JSON.stringify(o.version)} is not a version (e.g. 2026.11.3 or v2026.11.3)`)
        if (o.allowDowngrade && o.version === undefined) throw new UsageError('--allow-downgrade only goes with --version X')
        const json = !!o.json
        // The progress bar (cli-progress) loads with the one command that draws it.
        const { terminalProgress, wantsProgressBar } = await import('./system/progress.ts')
        const print = (e: UpdateEvent) => {
          if (!json) printLines(a.stdout, formatUpdateEvent(e))
        }
        const result = await (await import('./commands/update.ts')).updateCommand(
          a,
          { check: !!o.check, yes: !!o.yes, prompt: !!o.prompt, channel: o.channel, version: o.version, allowDowngrade: !!o.allowDowngrade, full: !!o.full },
          {
            event: print,
            confirm: async (q) => (await import('./system/prompt.ts')).askYesNo(q, a.stdin, a.stderr),
            interactive: a.stdin.isTTY === true && a.stderr.isTTY === true,
            progress: !json && wantsProgressBar(a.env, a.stderr, { quiet: o.quiet }) ? terminalProgress(a.stderr) : undefined,
          },
        )
        // The lines were printed as the update went.
        return { json: updateJson(result), lines: [] }
      }),
    )

  program
    .command('rollback')
    .description('put cco.backup back (verified); the replaced binary becomes the new backup')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/rollback.ts')).rollbackCommand(a)
        return { json: swapJson(r), lines: formatRollback(r) }
      }),
    )

  const fleet = program.command('fleet').description("this host's fleet reports to the broker (opt-in: fleet.report, fleet.token)").exitOverride()
  fleet
    .command('report')
    .description('send the queued fleet reports now; --dry-run prints the JSON body that would be sent instead')
    .option('--dry-run', 'print the body (one JSON document per line) with the pending events; send nothing')
    .option('--json', 'print one JSON object')
    .action((o: { dryRun?: boolean; json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/fleet-report.ts')).fleetReportCommand(a, { dryRun: !!o.dryRun })
        if (r.dry_run && r.texts.length === 0) a.logger.warn('→ Nothing queued: no event is waiting to be sent')
        for (const u of r.dry_run ? r.unsendable : []) a.logger.warn(`warning: queued event ${u.id} would be dropped: ${u.reason}`)
        const json = r.dry_run ? { dry_run: true, reports: r.reports, pending: r.pending, unsendable: r.unsendable } : r
        return { json, lines: formatFleetReport(r) }
      }),
    )

  program
    .command('completion')
    .description('print a completion script for bash, zsh or fish (generated from these commands)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices([...SHELLS]))
    // Generated when it runs, from the program it is part of: nothing to keep in step by hand.
    .action((shell: Shell) => pick({}, async () => ({ json: null, lines: completionScript(program, shell) })))

  registerDaemonCommands(program, select)
  registerReleaseCommands(program, select)

  return program
}

export async function main(argv: string[], app: AppContext = appFromProcess()): Promise<number> {
  reportUnknownConfigKeysTo(app.logger)
  let selected: CommandSelection | undefined
  const program = buildProgram(app, (s) => (selected = s))
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true })
      return ExitCode.usage
    }
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error (exit 2).
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    throw err
  }
  if (program.opts<{ version?: boolean }>().version) {
    printLines(app.stdout, [`cco ${app.version}`])
    return ExitCode.ok
  }
  if (!selected) {
    program.outputHelp({ error: true })
    return ExitCode.usage
  }

  const json = selected.json
  try {
    // Finish or undo an install that was interrupted, before anything else looks at the binary.
    // A recovery that cannot run (unreadable state dir) must not block the command itself.
    if (mayNeedRecovery(app)) await (await import('./update/recover.ts')).recoverInterruptedInstall(app).catch((err: unknown) => app.logger.warn(`warning: could not check for an interrupted install: ${messageOf(err)}`))
    const { json: data, lines } = await selected.run(app)
    // Every byte of a result goes through terminal-text.ts: escaped lines, or escaped JSON.
    if (json) printJson(app.stdout, jsonDocument(data))
    else printLines(app.stdout, lines)
    return ExitCode.ok
  } catch (err) {
    const code = err instanceof CliError ? err.exitCode : ExitCode.failure
    const message = err instanceof CliError ? err.message : `unexpected error: ${messageOf(err)}`
    printLines(app.stderr, err instanceof CliError ? err.lines : [message])
    if (!(err instanceof CliError) && app.env.CCO_DEBUG && err instanceof Error && err.stack) printText(app.stderr, `${err.stack}\n`)
    if (json) printJson(app.stdout, jsonDocument({ error: { message, exit_code: code } }))
    return code
  }
}

/**
 * Whether recover.ts (and the update modules behind it) must load: only when an install journal
 * exists, or on Windows, where every start also sweeps binaries that an install renamed away
 * (CCO_TEST_INSTALL_VARIANT=win32 runs that variant elsewhere). One stat otherwise.
 */
function mayNeedRecovery(app: AppContext): boolean {
  return process.platform === 'win32' || app.env.CCO_TEST_INSTALL_VARIANT === 'win32' || existsSync(app.paths.installJournal)
}

export function appFromProcess(): AppContext {
  const env = process.env
  return {
    env,
    paths: resolvePaths(env),
    clock: systemClock,
    logger: createConsoleLogger(process.stderr, env.CCO_DEBUG ? 'debug' : 'info'),
    version: VERSION,
    platform: currentPlatform(),
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: process.stdin builds its stream (and loads the net/tty code) on first use, and
    // only update's prompt and the daemon read it.
    get stdin() {
      return process.stdin
    },
    fancy: wantsFancyOutput(env, process.stderr),
  }
}
