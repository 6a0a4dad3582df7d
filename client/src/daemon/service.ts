// The daemon service (`cco run`): starts (config, health server, log, pid file), runs the loop of
// ticks (config re-read, a restart asked for by SIGUSR2, the scheduled check or a sleep) until a
// stop signal or a handover to a new binary, then cleans up. What the loop knows lives in
// service-state.ts, the signals in service-signals.ts, the restart itself in handover.ts.
import { loadConfig, type LoadedConfig } from '../config/load.ts'
import { reportUnknownConfigKeysTo } from '../config/unknown-keys.ts'
import type { AppContext } from '../context.ts'
import { CliError, errnoCode, ExitCode, messageOf, UsageError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { currentProgram } from '../system/daemon-launch.ts'
import { envValue } from '../system/env.ts'
import type { Logger } from '../system/logger.ts'
import { probeHealth } from '../system/health-probe.ts'
import { findRunningDaemon, removePidFileIfOwned, writePidFile } from '../system/pid-file.ts'
import { processStartTicks } from '../system/process-info.ts'
import { probeVersion } from '../system/probe-version.ts'
import { isLoopbackHost } from '../system/url-policy.ts'
import { scheduledCheck } from './checks.ts'
import { FleetSender } from './fleet-sender.ts'
import { runsFromPrivateCopy } from './private-copy.ts'
import { DEFAULT_HANDOVER_TIMEOUT_MS, handOver, type Endpoint, type HandoverResult } from './handover.ts'
import { createHealthServer, type HealthServer } from './health-server.ts'
import { HANDOVER_FROM_ENV, openDaemonLog, supervisorOf, type DaemonLog } from './log-sink.ts'
import { describeSchedule, ServiceState, type LogNote } from './service-state.ts'
import { ServiceSignals } from './service-signals.ts'

/** Hidden knob (tests): how long a new binary gets to report healthy after an update. */
export const HANDOVER_TIMEOUT_ENV = 'CCO_DAEMON_HANDOVER_TIMEOUT_MS'
/** How long a stop waits for a check in progress before abandoning it (the journal makes that safe). */
export const STOP_GRACE_MS = 3_000
/** How long a stopping daemon waits for a fleet report in flight (it has its own 5 s deadline). */
export const FLEET_SETTLE_MS = 2_000

export interface ServiceOptions {
  /** `--port`: overrides daemon.port for this process and its successors. */
  port?: number
  debug: boolean
  /** [0, 1) like Math.random: the jitter source. */
  random?: () => number
  /** Why a single executable runs from the install path instead of its private copy (logged). */
  inPlace?: string | null
}

export interface ServiceResult {
  version: string
  pid: number
  host: string
  port: number
  stopped_by: 'signal' | 'handover'
  signal: string | null
  successor: { pid: number | null; version: string } | null
}

function handoverTimeoutMs(app: AppContext): number {
  const raw = envValue(app.env, HANDOVER_TIMEOUT_ENV)
  const n = raw === undefined ? NaN : Number(raw)
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_HANDOVER_TIMEOUT_MS
}

/** A started daemon: what every part of the loop works with. */
interface Running {
  /** The app context with the daemon's logger. */
  app: AppContext
  log: Logger
  daemonLog: DaemonLog
  server: HealthServer
  state: ServiceState
  signals: ServiceSignals
  endpoint: Endpoint
  supervisor: string | null
  /** Sends the fleet report queue beside the loop (fleet-sender.ts). */
  fleet: FleetSender
  writeOwnPidFile(): void
}

type Exit = Extract<HandoverResult, { kind: 'exit' }>

function logNotes(log: Logger, notes: readonly LogNote[]): void {
  for (const n of notes) log[n.level](n.message)
}

/**
 * A port in use that a cco daemon answers on, though our pid file does not name it (another
 * user's, or one with another state dir): say which pid and version hold it, and the ways out.
 * Anything else holding the port keeps health-server.ts's message.
 */
async function explainBusyPort(err: unknown, host: string, port: number): Promise<unknown> {
  if (!(err instanceof CliError) || errnoCode(err.cause) !== 'EADDRINUSE') return err
  const answer = await probeHealth(host, port, 1_000)
  if (!answer.ok) return err
  const who = `${typeof answer.body.pid === 'number' ? `pid ${answer.body.pid}, ` : ''}version ${answer.body.version}`
  return new CliError(
    `port ${port} on ${host} is held by another cco daemon (${who}) that your pid file does not name (another user's, or one with another state directory): ` +
      `stop that one first, or choose another port with \`cco config set daemon.port N\` or \`cco run --port N\``,
    ExitCode.failure,
    { cause: err },
  )
}

/** Refuses to start beside another daemon, listens, opens the log, writes the pid file. */
async function startService(base: AppContext, options: ServiceOptions): Promise<Running> {
  const loaded: LoadedConfig = loadConfig(base.paths.configFile)
  const host = loaded.config.daemon.host
  if (!isLoopbackHost(host)) throw new UsageError(`daemon.host must be a loopback address (127.0.0.1, ::1, localhost), not ${host}: the daemon is not meant to be reachable from other machines`)
  const port = options.port ?? loaded.config.daemon.port
  const supervisor = supervisorOf(base.env)

  const other = findRunningDaemon(base.paths.daemonPid)
  if (other.running && other.record.pid !== process.pid && String(other.record.pid) !== envValue(base.env, HANDOVER_FROM_ENV)) {
    // One daemon per user (one pid file, one schedule), whatever port this one would use.
    throw new CliError(
      `cco daemon is already running (pid ${other.record.pid}, port ${other.record.port}); stop it first with \`cco daemon stop\` (one daemon runs per user; \`cco daemon logs --follow\` shows what it does)`,
      ExitCode.failure,
    )
  }

  const startedAt = base.clock.now().getTime()
  const program = currentProgram()
  const state = new ServiceState({
    loaded,
    host,
    port,
    portOverride: options.port !== undefined,
    version: base.version,
    pid: process.pid,
    startedAt,
    random: options.random ?? Math.random,
  })
  const server = createHealthServer(() => state.health(base.clock.now().getTime()))
  // Listen before opening the log: a refused port is reported on stderr (which `cco daemon
  // start` sends to daemon.log too) and leaves no trace of a service that never ran.
  await server.listen(host, port).catch(async (err: unknown) => {
    throw await explainBusyPort(err, host, port)
  })

  const daemonLog = openDaemonLog(base, { debug: options.debug })
  const log = daemonLog.logger
  const app: AppContext = { ...base, logger: log }
  // A key added to config.toml while the daemon runs is warned about in daemon.log's own format.
  reportUnknownConfigKeysTo(log)
  const writeOwnPidFile = () =>
    writePidFile(app.paths.daemonPid, {
      pid: process.pid,
      port,
      host,
      version: app.version,
      started_at: toRfc3339(new Date(startedAt)),
      binary: program.binary,
      start_ticks: processStartTicks(process.pid),
      supervisor,
      nonce: server.proofKey,
    })
  writeOwnPidFile()
  log.info(`cco daemon ${app.version} listening on ${host}:${port} (pid ${process.pid})`)
  log.debug(`binary ${program.binary}, install path ${app.paths.installPath}, log ${daemonLog.target}${supervisor ? `, supervised by ${supervisor}` : ''}`)
  log.info(describeSchedule(state.config))
  if (runsFromPrivateCopy(app.paths)) log.info(`Running from a private copy of ${app.paths.installPath} (${program.binary}), so that the installed file can be replaced while the daemon runs`)
  if (options.inPlace) log.warn(`Running from ${program.binary} itself (${options.inPlace}): while this daemon runs, that file cannot be overwritten in place (cp fails with "Text file busy"); cco update and cco rollback still work`)

  const endpoint: Endpoint = { host, port, portOverride: options.port, debug: options.debug }
  return { app, log, daemonLog, server, state, signals: new ServiceSignals(), endpoint, supervisor, fleet: new FleetSender(app), writeOwnPidFile }
}

/** Re-reads the config file on every tick; a file that does not load keeps the previous settings. */
function rereadConfig(r: Running, why: string | null): void {
  let next: LoadedConfig
  try {
    next = loadConfig(r.app.paths.configFile)
  } catch (err) {
    logNotes(r.log, r.state.configRefused(messageOf(err)))
    return
  }
  logNotes(r.log, r.state.configLoaded(next, why))
}

/** Restarts into the binary at the install path, which reports `version` (handover.ts). */
function restartInto(r: Running, version: string, reason: string): Promise<HandoverResult> {
  const { app, endpoint, server } = r
  return handOver(
    {
      app,
      config: r.state.config,
      configPath: r.state.loaded.path,
      endpoint,
      timeoutMs: handoverTimeoutMs(app),
      supervisor: r.supervisor,
      stopListening: () => server.close(),
      listenAgain: async () => {
        await server.listen(endpoint.host, endpoint.port)
        r.writeOwnPidFile()
      },
    },
    version,
    reason,
  )
}

/** A handover records its health verdict (and a rollback) in the fleet queue; a process that stays sends it. */
async function handedOver(r: Running, result: Promise<HandoverResult>): Promise<HandoverResult> {
  const done = await result
  r.fleet.afterEvent()
  return done
}

/** SIGUSR2: restart into whatever the install path holds, if it runs. */
async function restartOnRequest(r: Running): Promise<HandoverResult | null> {
  const { app } = r
  const there = await probeVersion(app.paths.installPath, app.env)
  if (!there.ok) {
    r.log.error(`SIGUSR2: not restarting, the binary at ${app.paths.installPath} does not run: ${there.problem}`)
    return null
  }
  return handedOver(r, restartInto(r, there.version, `SIGUSR2: ${app.paths.installPath} holds ${there.version}`))
}

/**
 * One scheduled check: abandoned STOP_GRACE_MS after a stop signal (the journal makes that
 * safe), else recorded, and followed by the restart into a binary it installed. 'stop' when
 * the daemon stops meanwhile.
 */
async function checkNow(r: Running): Promise<HandoverResult | 'stop' | null> {
  const { app, signals, state } = r
  const check = scheduledCheck(app, state.config, state.loaded.path)
  const stopping = signals.stopped.then(() => new Promise<'abandoned'>((res) => setTimeout(() => res('abandoned'), STOP_GRACE_MS).unref()))
  const outcome = await Promise.race([check, stopping])
  if (outcome === 'abandoned') {
    r.log.warn('Stopping during an update check; it is abandoned (an interrupted install is finished or undone on the next start)')
    return 'stop'
  }
  if (signals.stopSignal) return 'stop'
  const { restartInto: version, notes } = state.checkFinished(outcome, app.clock.now().getTime())
  logNotes(r.log, notes)
  r.fleet.afterEvent()
  return version === null ? null : handedOver(r, restartInto(r, version, 'update installed'))
}

/** Ticks until a stop signal or a handover to another process; that handover, if any. */
async function loop(r: Running): Promise<Exit | null> {
  const { app, signals, state } = r
  while (!signals.stopSignal) {
    rereadConfig(r, signals.takeReload() ? 'SIGHUP' : null)
    r.fleet.tick(state.config, app.clock.now().getTime())
    let result: HandoverResult | 'stop' | null = null
    if (signals.takeRestart()) {
      result = await restartOnRequest(r)
    } else {
      const now = app.clock.now().getTime()
      const step = state.nextStep(now)
      if (step.kind === 'check') {
        result = await checkNow(r)
      } else {
        if (step.note) logNotes(r.log, [step.note])
        await signals.sleep(step.ms)
      }
    }
    if (result === 'stop') break
    if (result?.kind === 'exit') return result
  }
  return null
}

export async function runService(base: AppContext, options: ServiceOptions): Promise<ServiceResult> {
  const r = await startService(base, options)
  const { app, log, signals } = r
  signals.listen()
  let exit: Exit | null = null
  try {
    exit = await loop(r)
  } catch (err) {
    log.error(`cco daemon ${app.version} (pid ${process.pid}) stops on an unexpected error: ${messageOf(err)}`)
    r.daemonLog.close()
    throw err
  } finally {
    signals.close()
    await r.server.close()
    removePidFileIfOwned(app.paths.daemonPid, process.pid)
    // A verdict just queued by a handover is sent on the way out; a report in flight gets a
    // moment; what is not sent stays queued for the next daemon.
    r.fleet.tick(r.state.config, app.clock.now().getTime())
    await r.fleet.settle(FLEET_SETTLE_MS)
  }
  const successor = exit?.successor ?? null
  const stopSignal = signals.stopSignal
  if (stopSignal) log.info(`Received ${stopSignal}; cco daemon ${app.version} (pid ${process.pid}) stopped`)
  else log.info(`cco daemon ${app.version} (pid ${process.pid}) exits${successor?.pid ? `; pid ${successor.pid} runs ${successor.version}` : ''}`)
  r.daemonLog.close()
  return {
    version: app.version,
    pid: process.pid,
    host: r.endpoint.host,
    port: r.endpoint.port,
    stopped_by: stopSignal ? 'signal' : 'handover',
    signal: stopSignal,
    successor,
  }
}
