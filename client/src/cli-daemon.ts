// Registers `cco run`, `cco health` and `cco daemon start|stop|restart|status|logs|install|
// uninstall` (and the hidden `daemon watchdog`) on the program: argv → options → command →
// printer, like the other commands in main.ts.
import { InvalidArgumentError, type Command } from 'commander'
import { DEFAULT_LOG_LINES } from './commands/option-defaults.ts'
import { selector, type CommandSelection } from './command-selection.ts'
import { DaemonNotRunningError } from './daemon/errors.ts'
import { jsonDocument } from './output/json.ts'
import { formatHealth, formatInstalled, formatStarted, formatStatus, formatStopped, formatUninstalled } from './output/daemon.ts'
import { printLines, printText, safeJson } from './output/terminal-text.ts'
import { abortOnSignals } from './system/interrupt.ts'
import type { AppContext } from './context.ts'


function portArg(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new InvalidArgumentError('must be an integer from 1 to 65535')
  return n
}

function countArg(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('must be a whole number of lines')
  return Number(text)
}

function pidArg(text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new InvalidArgumentError('must be a process id')
  return Number(text)
}

function positiveArg(text: string): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number')
  return n
}

/** The app a foreground daemon or watchdog logs through: with `--json` its lines go to stderr. */
function logsToStderr(app: AppContext, json: boolean | undefined): AppContext {
  return json ? { ...app, stdout: app.stderr } : app
}

export function registerDaemonCommands(program: Command, select: (s: CommandSelection) => void): void {
  const pick = selector(select)
  program
    .command('run')
    .description('run the daemon in the foreground: /health on daemon.host:daemon.port and scheduled update checks')
    .option('--debug', 'log debug lines too')
    .option('--port <n>', 'listen on this port instead of daemon.port', portArg)
    .option('--json', 'print one JSON object when the daemon stops')
    .action((o: { debug?: boolean; port?: number; json?: boolean }) =>
      // With --json, stdout holds the one document: the foreground log lines go to stderr instead.
      pick(o, async (a) => ({ json: await (await import('./commands/run.ts')).runCommand(logsToStderr(a, o.json), { port: o.port, debug: !!o.debug }), lines: [] })),
    )

  program
    .command('health')
    .description("ask the running daemon's /health (exit 3 when it does not answer ok)")
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/health.ts')).healthCommand(a)
        return { json: r, lines: formatHealth(r) }
      }),
    )

  const daemon = program.command('daemon').description('run cco in the background: start, stop, status, logs, service install').exitOverride()

  daemon
    .command('start')
    .description('start the daemon detached (output in daemon.log) and wait until /health answers')
    .option('--port <n>', 'listen on this port instead of daemon.port', portArg)
    .option('--debug', 'log debug lines too')
    .option('--json', 'print one JSON object')
    .action((o: { port?: number; debug?: boolean; json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/daemon-start.ts')).daemonStartCommand(a, { port: o.port, debug: !!o.debug })
        if (r.cleaned) a.logger.warn(`note: ${r.cleaned}`)
        return { json: r, lines: formatStarted(r) }
      }),
    )

  daemon
    .command('stop')
    .description('stop the daemon (SIGTERM, then SIGKILL after 10 s); not running is not an error')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/daemon-stop.ts')).daemonStopCommand(a)
        if (r.cleaned) a.logger.warn(`note: ${r.cleaned}`)
        if (r.hint) a.logger.warn(`note: ${r.hint}`)
        return { json: r, lines: formatStopped(r) }
      }),
    )

  daemon
    .command('restart')
    .description('stop the daemon if it runs, then start it')
    .option('--port <n>', 'listen on this port instead of daemon.port', portArg)
    .option('--debug', 'log debug lines too')
    .option('--json', 'print one JSON object')
    .action((o: { port?: number; debug?: boolean; json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/daemon-restart.ts')).daemonRestartCommand(a, { port: o.port, debug: !!o.debug })
        if (r.stopped.hint) a.logger.warn(`note: ${r.stopped.hint}`)
        return { json: r, lines: [...(r.stopped.was_running ? formatStopped(r.stopped) : []), ...formatStarted(r.started)] }
      }),
    )

  daemon
    .command('status')
    .description('"Running: true" with pid, port, version and uptime (exit 0), or "Running: false" (exit 3)')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      // The answer is printed on stdout in both cases; "not running" then becomes exit 3.
      select({
        json: false,
        run: async (a) => {
          const s = await (await import('./commands/daemon-status.ts')).daemonStatusCommand(a)
          const lines = o.json ? safeJson(jsonDocument(s)).split('\n') : formatStatus(s)
          if (!s.running) {
            printLines(a.stdout, lines)
            const why = s.cleaned || s.unconfirmed ? ` (${s.cleaned ?? s.unconfirmed})` : ''
            throw new DaemonNotRunningError(`cco daemon is not running${why}; start it with \`cco daemon start\``)
          }
          return { json: s, lines }
        },
      }),
    )

  daemon
    .command('logs')
    .description('print the last lines of daemon.log; --follow keeps printing new ones (across rotation)')
    .option('-n, --lines <n>', `how many lines (default ${DEFAULT_LOG_LINES})`, countArg, DEFAULT_LOG_LINES)
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('--json', 'print one JSON object (without --follow)')
    .action((o: { lines: number; follow?: boolean; json?: boolean }) =>
      select({
        json: !!o.json && !o.follow,
        run: async (a) => {
          // The file may have been written by anything: every line is escaped again.
          const write = (text: string) => printText(a.stdout, text)
          if (o.follow) {
            const interrupt = abortOnSignals()
            try {
              await (await import('./commands/daemon-logs.ts')).daemonLogsCommand(a, { lines: o.lines, follow: true, signal: interrupt.signal }, write)
            } finally {
              interrupt.dispose()
            }
            return { json: null, lines: [] }
          }
          const r = await (await import('./commands/daemon-logs.ts')).daemonLogsCommand(a, { lines: o.lines, follow: false }, write)
          if (!r.exists) a.logger.warn(`no daemon log yet (${r.file})`)
          return { json: r, lines: r.lines }
        },
      }),
    )

  daemon
    .command('install')
    .description('write a systemd user unit (Linux) or a launchd agent (macOS) that runs the installed cco')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const r = (await import('./commands/daemon-install.ts')).daemonInstallCommand(a)
        for (const w of r.warnings) a.logger.warn(`warning: ${w}`)
        return { json: r, lines: formatInstalled(r) }
      }),
    )

  daemon
    .command('uninstall')
    .description('remove the service file written by install')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) =>
      pick(o, async (a) => {
        const r = (await import('./commands/daemon-uninstall.ts')).daemonUninstallCommand(a)
        return { json: r, lines: formatUninstalled(r) }
      }),
    )

  daemon
    .command('watchdog', { hidden: true })
    .description('after an update under a service manager: restore cco.backup if the new daemon is not healthy in time')
    .requiredOption('--expect <version>', 'the version the new daemon must report')
    .option('--restore <version>', 'the version cco.backup must hold to be restored')
    .option('--host <host>', 'the daemon host', '127.0.0.1')
    .requiredOption('--port <n>', 'the daemon port', portArg)
    .option('--timeout <seconds>', 'how long the new daemon gets', positiveArg, 30)
    .option('--install-path <path>', 'the install path of the guarded daemon')
    .option('--guard-pid <pid>', 'the daemon that handed over', pidArg)
    .option('--json', 'print one JSON object')
    .action((o: { expect: string; restore?: string; host: string; port: number; timeout: number; installPath?: string; guardPid?: number; json?: boolean }) =>
      pick(o, async (a) => {
        const r = await (await import('./commands/daemon-watchdog.ts')).daemonWatchdogCommand(logsToStderr(a, o.json), {
          expect: o.expect,
          restore: o.restore,
          host: o.host,
          port: o.port,
          timeoutSeconds: o.timeout,
          installPath: o.installPath,
          guardPid: o.guardPid,
        })
        return { json: r, lines: [] }
      }),
    )
}
