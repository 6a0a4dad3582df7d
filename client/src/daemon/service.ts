// The daemon service (`cco run`): the health server, the pid file, the log, the scheduled check
// loop, signals (TERM/INT stop, HUP re-reads the config, USR2 restarts into the binary at the
// install path) and the restart into a new binary after an automatic install.
import { loadConfig, type LoadedConfig } from '../config/load.ts'
import { checkIntervalMs, type Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { CliError, ExitCode, messageOf, UsageError } from '../errors.ts'
import { toRfc3339 } from '../system/clock.ts'
import { currentProgram } from '../system/daemon-launch.ts'
import { envValue } from '../system/env.ts'
import type { HealthBody } from '../system/health-probe.ts'
import { findRunningDaemon, removePidFileIfOwned, writePidFile } from '../system/pid-file.ts'
import { processStartTicks } from '../system/process-info.ts'
import { probeVersion } from '../system/probe-version.ts'
import { isLoopbackHost, redactUrl } from '../system/url-policy.ts'
import { scheduledCheck, type CheckOutcome } from './checks.ts'
import { DEFAULT_HANDOVER_TIMEOUT_MS, handOver, type Endpoint, type HandoverResult } from './handover.ts'
import { createHealthServer } from './health-server.ts'
import { HANDOVER_FROM_ENV, openDaemonLog, supervisorOf } from './log-sink.ts'
import { backoffMs, drawJitterMs, formatDuration, planNextCheck, tickMs, type Failure, type Plan } from './scheduler.ts'

/** Hidden knob (tests): how long a new binary gets to report healthy after an update. */
export const HANDOVER_TIMEOUT_ENV = 'CCO_DAEMON_HANDOVER_TIMEOUT_MS'
/** How long a stop waits for a check in progress before abandoning it (the journal makes that safe). */
export const STOP_GRACE_MS = 3_000

export interface ServiceOptions {
  /** `--port`: overrides daemon.port for this process and its successors. */
  port?: number
  debug: boolean
  /** [0, 1) like Math.random: the jitter source. */
  random?: () => number
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

/** The settings the loop acts on; last_check/last_update change on every check and are not logged. */
function settings(c: Config): string {
  const u = c.updates
  return `updates.enabled=${u.enabled} check_interval=${u.check_interval} auto_install=${u.auto_install} channel=${u.channel} server=${redactUrl(u.server)}`
}

function describeSchedule(c: Config): string {
  const u = c.updates
  if (!u.enabled) return 'Scheduled update checks are off (updates.enabled = false)'
  if (checkIntervalMs(u.check_interval) === null) return 'Scheduled update checks are off (updates.check_interval = never)'
  return `Checking for updates ${u.check_interval} on channel ${u.channel} from ${redactUrl(u.server)} (auto-install ${u.auto_install ? 'on' : 'off'})`
}

export async function runService(base: AppContext, options: ServiceOptions): Promise<ServiceResult> {
  let loaded: LoadedConfig = loadConfig(base.paths.configFile)
  const host = loaded.config.daemon.host
  if (!isLoopbackHost(host)) throw new UsageError(`daemon.host must be a loopback address (127.0.0.1, ::1, localhost), not ${host}: the daemon is not meant to be reachable from other machines`)
  const port = options.port ?? loaded.config.daemon.port
  const supervisor = supervisorOf(base.env)

  const other = findRunningDaemon(base.paths.daemonPid)
  if (other.running && other.record.pid !== process.pid && String(other.record.pid) !== envValue(base.env, HANDOVER_FROM_ENV)) {
    throw new CliError(`cco daemon is already running (pid ${other.record.pid}, port ${other.record.port})`, ExitCode.failure)
  }

  const startedAt = base.clock.now().getTime()
  const random = options.random ?? Math.random
  const program = currentProgram()
  let config = loaded.config
  let badConfig: string | null = null
  let ownLastCheck: number | null = null
  let updateAvailable = false
  let latestVersion: string | null = null
  let failure: Failure | null = null
  let firstCycle = true
  let jitter = { key: '', ms: 0 }

  const lastCheck = (): number | null => {
    const stored = config.updates.last_check?.getTime() ?? null
    // The file keeps whole seconds; this process knows its own checks to the millisecond.
    if (stored === null) return ownLastCheck
    return ownLastCheck === null ? stored : Math.max(stored, ownLastCheck)
  }
  const health = (): HealthBody => {
    const lc = lastCheck()
    return {
      status: 'ok',
      version: base.version,
      uptime_seconds: Math.floor((base.clock.now().getTime() - startedAt) / 1000),
      channel: config.updates.channel,
      last_check: lc === null ? null : toRfc3339(new Date(lc)),
      update_available: updateAvailable,
      latest_version: latestVersion,
      pid: process.pid,
    }
  }

  const server = createHealthServer(health)
  // Listen before opening the log: a refused port is reported on stderr (which `cco daemon
  // start` sends to daemon.log too) and leaves no trace of a service that never ran.
  await server.listen(host, port)

  const daemonLog = openDaemonLog(base, { debug: options.debug })
  const log = daemonLog.logger
  const app: AppContext = { ...base, logger: log }
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
  log.info(describeSchedule(config))

  const reload = (why: string | null) => {
    let next: LoadedConfig
    try {
      next = loadConfig(app.paths.configFile)
    } catch (err) {
      const msg = messageOf(err)
      if (msg !== badConfig) log.error(`Keeping the previous settings: ${msg}`)
      badConfig = msg
      return
    }
    badConfig = null
    const changed = settings(next.config) !== settings(config)
    const portChanged = next.config.daemon.port !== config.daemon.port || next.config.daemon.host !== config.daemon.host
    loaded = next
    config = next.config
    if (changed) log.info(`Configuration changed: ${describeSchedule(config)}`)
    else if (why) log.info(`Configuration re-read (${why}): no change to the schedule`)
    if (portChanged && options.port === undefined) {
      log.warn(`daemon.host/daemon.port changed to ${config.daemon.host}:${config.daemon.port}; this daemon keeps ${host}:${port} until it is restarted (\`cco daemon restart\`)`)
    }
  }

  // Signals only set flags and wake the loop; the loop does the work between checks.
  let stopSignal: NodeJS.Signals | null = null
  let reloadAsked = false
  let restartAsked = false
  let wake: (() => void) | null = null
  let onStop: (() => void) | null = null
  const stopped = new Promise<void>((r) => (onStop = r))
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => stop('SIGTERM')],
    ['SIGINT', () => stop('SIGINT')],
  ]
  if (process.platform !== 'win32') {
    handlers.push(['SIGHUP', () => ((reloadAsked = true), wake?.())])
    handlers.push(['SIGUSR2', () => ((restartAsked = true), wake?.())])
  }
  function stop(signal: NodeJS.Signals) {
    if (stopSignal) return
    stopSignal = signal
    onStop?.()
    wake?.()
  }
  for (const [sig, h] of handlers) process.on(sig, h)
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer)
        wake = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      wake = done
    })

  const endpoint: Endpoint = { host, port, portOverride: options.port, debug: options.debug }
  const restartInto = (version: string, reason: string): Promise<HandoverResult> =>
    handOver(
      {
        app,
        config,
        configPath: loaded.path,
        endpoint,
        timeoutMs: handoverTimeoutMs(app),
        supervisor,
        stopListening: () => server.close(),
        listenAgain: async () => {
          await server.listen(host, port)
          writeOwnPidFile()
        },
      },
      version,
      reason,
    )

  const plan = (now: number): Plan => {
    const intervalMs = checkIntervalMs(config.updates.check_interval) ?? null
    const last = lastCheck()
    const key = `${last}:${intervalMs}:${failure?.at ?? ''}`
    if (intervalMs !== null && jitter.key !== key) jitter = { key, ms: drawJitterMs(intervalMs, random) }
    return planNextCheck({ now, enabled: config.updates.enabled, intervalMs, lastCheck: last, jitterMs: jitter.ms, failure, firstCycle })
  }

  const afterCheck = async (o: CheckOutcome): Promise<HandoverResult | null> => {
    const now = app.clock.now().getTime()
    const intervalMs = checkIntervalMs(config.updates.check_interval) ?? null
    switch (o.kind) {
      case 'checked':
        ownLastCheck = now
        failure = null
        updateAvailable = o.updateAvailable
        latestVersion = o.latest
        return null
      case 'installed':
        ownLastCheck = now
        failure = null
        updateAvailable = false
        latestVersion = o.latest
        return restartInto(o.version, 'update installed')
      case 'network-error': {
        const attempts = failure?.kind === 'network' ? failure.attempts + 1 : 1
        failure = { kind: 'network', at: now, attempts }
        const retry = intervalMs === null ? '' : `; retrying in ${formatDuration(backoffMs(attempts, intervalMs))}`
        log.warn(`Update check failed: ${o.message}${retry}`)
        return null
      }
      case 'failed':
        failure = { kind: 'other', at: now }
        log.error(`${o.exitCode === ExitCode.refused ? 'Update refused' : 'Update failed'}: ${o.message}`)
        return null
    }
  }

  let result: HandoverResult | null = null
  let lastPlanned: number | null = null
  try {
    while (!stopSignal) {
      reload(reloadAsked ? 'SIGHUP' : null)
      reloadAsked = false
      if (restartAsked) {
        restartAsked = false
        const there = await probeVersion(app.paths.installPath, app.env)
        if (!there.ok) {
          log.error(`SIGUSR2: not restarting, the binary at ${app.paths.installPath} does not run: ${there.problem}`)
        } else {
          result = await restartInto(there.version, `SIGUSR2: ${app.paths.installPath} holds ${there.version}`)
          if (result.kind === 'exit') break
        }
        continue
      }
      const now = app.clock.now().getTime()
      const p = plan(now)
      if (p.kind === 'due' && p.at <= now) {
        firstCycle = false
        const check = scheduledCheck(app, config, loaded.path)
        const stopping = stopped.then(() => new Promise<'abandoned'>((r) => setTimeout(() => r('abandoned'), STOP_GRACE_MS).unref()))
        const outcome = await Promise.race([check, stopping])
        if (outcome === 'abandoned') {
          log.warn('Stopping during an update check; it is abandoned (an interrupted install is finished or undone on the next start)')
          break
        }
        if (stopSignal) break
        result = await afterCheck(outcome)
        if (result?.kind === 'exit') break
        continue
      }
      if (p.kind === 'due' && p.at !== lastPlanned) log.debug(`Next check in ${formatDuration(p.at - now)} (${p.why})`)
      lastPlanned = p.kind === 'due' ? p.at : null
      await sleep(tickMs(p, now))
    }
  } catch (err) {
    log.error(`cco daemon ${app.version} (pid ${process.pid}) stops on an unexpected error: ${messageOf(err)}`)
    daemonLog.close()
    throw err
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h)
    await server.close()
    removePidFileIfOwned(app.paths.daemonPid, process.pid)
  }
  const successor = result?.kind === 'exit' ? result.successor : null
  if (stopSignal) log.info(`Received ${stopSignal}; cco daemon ${app.version} (pid ${process.pid}) stopped`)
  else log.info(`cco daemon ${app.version} (pid ${process.pid}) exits${successor?.pid ? `; pid ${successor.pid} runs ${successor.version}` : ''}`)
  daemonLog.close()
  return {
    version: app.version,
    pid: process.pid,
    host,
    port,
    stopped_by: stopSignal ? 'signal' : 'handover',
    signal: stopSignal,
    successor,
  }
}
