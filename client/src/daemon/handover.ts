// Restarting the daemon into the binary at the install path, gated on health: the old process
// stops listening, starts the new binary on the same port and waits for its `/health` to
// report the new version. If it does not, the new process is killed, cco.backup is put back
// through the client's rollback (journaled, verified) and the previous version is started the
// same way; if even that fails, the old process listens again, so the port is never left
// empty. Under a service manager the old process instead leaves a watchdog behind and exits,
// and the manager starts the new binary.
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Config } from '../config/schema.ts'
import type { AppContext } from '../context.ts'
import { messageOf } from '../errors.ts'
import { healthEvent, rollbackEvent } from '../fleet/events.ts'
import { fleetReporter } from '../fleet/reporter.ts'
import { toRfc3339 } from '../system/clock.ts'
import { programAt, signalGroup, spawnDetached, waitForExit } from '../system/daemon-launch.ts'
import { probeHealth } from '../system/health-probe.ts'
import { createUpdateContext } from '../update/context.ts'
import { noHooks } from '../update/hooks.ts'
import { probeBinary } from '../update/probe.ts'
import { rollbackToBackup, type RollbackResult } from '../update/rollback.ts'
import { writeHandover, type HandoverState } from './handover-state.ts'
import { DETACHED_ENV, HANDOVER_FROM_ENV, SUPERVISED_ENV } from './log-sink.ts'
import { sameVersion } from '../../../contract/version.ts'

export const DEFAULT_HANDOVER_TIMEOUT_MS = 30_000

export interface Endpoint {
  host: string
  port: number
  /** `--port` given to this process: passed on to its successor. */
  portOverride?: number
  debug: boolean
}

export type HealthWait = { ok: true; pid: number | null } | { ok: false; problem: string }

/** Polls `/health` until it reports `version` (and, when given, from `pid`). */
export async function waitForVersion(
  endpoint: Pick<Endpoint, 'host' | 'port'>,
  version: string,
  o: { timeoutMs: number; pid?: number; exited?: () => string | null; pollMs?: number },
): Promise<HealthWait> {
  const deadline = Date.now() + o.timeoutMs
  let last = 'no answer yet'
  for (;;) {
    const gone = o.exited?.()
    if (gone) return { ok: false, problem: gone }
    const left = deadline - Date.now()
    if (left <= 0) return { ok: false, problem: last }
    const answer = await probeHealth(endpoint.host, endpoint.port, Math.min(1_000, Math.max(left, 100)))
    if (answer.ok) {
      const pidOk = o.pid === undefined || answer.body.pid === undefined || answer.body.pid === o.pid
      if (sameVersion(answer.body.version, version) && pidOk) return { ok: true, pid: answer.body.pid ?? null }
      last = `/health reports version ${answer.body.version}${answer.body.pid ? ` from pid ${answer.body.pid}` : ''}`
    } else {
      last = answer.problem
    }
    await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 200, Math.max(deadline - Date.now(), 0))))
  }
}

/** `cco.backup` back in place, waiting for another updater that holds the lock. */
export async function restoreBackup(app: AppContext, config: Config, configPath: string, attempts = 6): Promise<RollbackResult> {
  const ctx = createUpdateContext(app, config, configPath, { hooks: noHooks })
  try {
    for (let i = 1; ; i++) {
      try {
        return await rollbackToBackup(ctx)
      } catch (err) {
        if (i >= attempts || !/another update is in progress/.test(messageOf(err))) throw err
        app.logger.warn(`Waiting for another update to finish before rolling back (${messageOf(err)})`)
      }
    }
  } finally {
    await ctx.http.close().catch(() => {})
  }
}

export interface HandoverDeps {
  app: AppContext
  config: Config
  configPath: string
  endpoint: Endpoint
  timeoutMs: number
  supervisor: string | null
  /** Stops this process's listener (the successor needs the port). */
  stopListening(): Promise<void>
  /** Listens again and rewrites the pid file: the last resort. */
  listenAgain(): Promise<void>
}

export type HandoverResult = { kind: 'exit'; successor: { pid: number | null; version: string } } | { kind: 'stay' }

interface Started {
  child: ChildProcess
  health: HealthWait
}

async function startSuccessor(d: HandoverDeps, version: string): Promise<Started> {
  const { app, endpoint } = d
  const args = ['run']
  if (endpoint.portOverride !== undefined) args.push('--port', String(endpoint.portOverride))
  if (endpoint.debug) args.push('--debug')
  const child = spawnDetached(programAt(app.paths.installPath), args, {
    env: { ...app.env, [DETACHED_ENV]: '1', [HANDOVER_FROM_ENV]: String(process.pid) },
    logFile: app.paths.daemonLog,
    cwd: app.paths.home,
  })
  let exited: string | null = null
  child.once('exit', (code, signal) => (exited = `the new process exited (${signal ?? `status ${code}`}) before it became healthy`))
  child.once('error', (err) => (exited = `could not start ${app.paths.installPath}: ${err.message}`))
  const health = await waitForVersion(endpoint, version, { timeoutMs: d.timeoutMs, pid: child.pid, exited: () => exited })
  if (!health.ok && child.pid !== undefined && exited === null) {
    signalGroup(child.pid, 'SIGKILL')
    await waitForExit(child.pid, 5_000)
  }
  return { child, health }
}

export async function handOver(d: HandoverDeps, target: string, reason: string): Promise<HandoverResult> {
  const { app } = d
  const log = app.logger
  const from = app.version
  const secs = Math.round(d.timeoutMs / 1000)
  const record = (phase: HandoverState['phase'], detail = '') =>
    writeHandover(app.paths.stateDir, { from_pid: process.pid, from_version: from, to_version: target, phase, at: toRfc3339(app.clock.now()), detail })

  if (d.supervisor) return leaveToSupervisor(d, target, reason)
  // The verdict goes into the fleet queue; whichever daemon runs next sends it.
  const fleet = fleetReporter(app, d.config)

  log.info(`Restarting into ${target} (${reason})`)
  record('starting')
  await d.stopListening()
  const first = await startSuccessor(d, target)
  if (first.health.ok) {
    log.info(`Restarted into ${target} (pid ${first.child.pid})`)
    record('done')
    await fleet.record(healthEvent(from, target, true), target)
    return { kind: 'exit', successor: { pid: first.child.pid ?? null, version: target } }
  }
  log.error(`New daemon ${target} did not become healthy: ${first.health.problem}`)
  await fleet.record(healthEvent(from, target, false), target)

  const backup = existsSync(app.paths.backupPath) ? await probeBinary(app.paths.backupPath, app.env, from) : null
  if (backup?.kind === 'reports') {
    try {
      await restoreBackup(app, d.config, d.configPath)
      await fleet.record(rollbackEvent(target, from), from)
      log.warn(`New daemon did not become healthy within ${secs} s; rolled back to ${from}`)
      record('rolled-back', `did not become healthy within ${secs} s (${first.health.problem}); rolled back to ${from}`)
      const second = await startSuccessor(d, from)
      if (second.health.ok) {
        log.info(`Restarted into ${from} (pid ${second.child.pid})`)
        return { kind: 'exit', successor: { pid: second.child.pid ?? null, version: from } }
      }
      log.error(`The restored ${from} did not become healthy either: ${second.health.problem}`)
    } catch (err) {
      await fleet.record(rollbackEvent(target, from, err), target)
      log.error(`Rolling back to ${from} failed: ${messageOf(err)}`)
      record('failed', `did not become healthy within ${secs} s; rolling back failed: ${messageOf(err)}`)
    }
  } else {
    const what = backup === null ? 'there is no cco.backup' : backup.kind === 'other' ? `cco.backup is ${backup.version}, not ${from}` : `cco.backup does not run (${backup.problem})`
    log.error(`Not rolling back: ${what}; ${app.paths.installPath} is left as it is`)
    record('failed', `did not become healthy within ${secs} s; ${what}`)
  }
  try {
    await d.listenAgain()
  } catch (err) {
    log.error(`Cannot listen again on ${d.endpoint.host}:${d.endpoint.port}: ${messageOf(err)}; exiting`)
    return { kind: 'exit', successor: { pid: null, version: target } }
  }
  log.error(`This process (${from}, pid ${process.pid}) keeps serving on ${d.endpoint.host}:${d.endpoint.port}; restart it with \`cco daemon restart\` once fixed`)
  return { kind: 'stay' }
}

/**
 * Under systemd or launchd: start the health watchdog from the previous binary (now
 * cco.backup), then exit so that the manager starts the new binary. The watchdog puts the
 * backup back and stops the new daemon if it does not report the new version in time.
 */
async function leaveToSupervisor(d: HandoverDeps, target: string, reason: string): Promise<HandoverResult> {
  const { app, endpoint } = d
  const log = app.logger
  const secs = Math.max(1, Math.round(d.timeoutMs / 1000))
  const watchdogBinary = existsSync(app.paths.backupPath) ? app.paths.backupPath : app.paths.installPath
  const env: Record<string, string | undefined> = { ...app.env, [DETACHED_ENV]: '1' }
  delete env[SUPERVISED_ENV]
  const args = ['daemon', 'watchdog', '--expect', target, '--restore', app.version, '--host', endpoint.host, '--port', String(endpoint.port)]
  args.push('--timeout', String(secs), '--install-path', app.paths.installPath, '--guard-pid', String(process.pid))
  const watchdog = spawnDetached(programAt(watchdogBinary), args, { env, logFile: app.paths.daemonLog, cwd: app.paths.home })
  writeHandover(app.paths.stateDir, { from_pid: process.pid, from_version: app.version, to_version: target, phase: 'starting', at: toRfc3339(app.clock.now()), detail: `watchdog pid ${watchdog.pid}` })
  log.info(`Exiting so that ${d.supervisor} starts ${target} (${reason}); watchdog pid ${watchdog.pid} restores ${app.version} if ${target} is not healthy within ${secs} s`)
  await d.stopListening()
  return { kind: 'exit', successor: { pid: null, version: target } }
}
