// Starting and stopping daemon processes: how to run the program that is running now or a
// binary at a path (a single executable, or a bundle/script that Node runs), detached in its
// own session with stdout/stderr appended to the daemon log, and signalling its process group.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readSync } from 'node:fs'
import { dirname } from 'node:path'
import { isSea } from 'node:sea'
import type { Env } from './env.ts'
import { DIR_MODE } from './fs-atomic.ts'
import { isPidAlive, isSameProcessAlive, processStartTicks } from './process-info.ts'
import { openLogForAppend } from './rotating-log.ts'

export interface Program {
  command: string
  /** Arguments before cco's own (the script for Node). */
  args: string[]
  /** What a pid file records and a command line is compared with. */
  binary: string
}

/** The program running now: the single executable, or Node plus the script it runs. */
export function currentProgram(): Program {
  if (isSea() || !process.argv[1]) return { command: process.execPath, args: [], binary: process.execPath }
  return { command: process.execPath, args: [process.argv[1]], binary: process.argv[1] }
}

function startsWithShebang(path: string): boolean {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buf = Buffer.alloc(2)
    return readSync(fd, buf, 0, 2, 0) === 2 && buf.toString('latin1') === '#!'
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * The program at `path` (the install path or the backup). A bundle (`#!/usr/bin/env node`) is
 * given to this Node when this process is Node itself, so that a service manager's sparse
 * PATH cannot pick another Node; everything else is executed directly.
 */
export function programAt(path: string): Program {
  if (!isSea() && startsWithShebang(path)) return { command: process.execPath, args: [path], binary: path }
  return { command: path, args: [], binary: path }
}

export interface DetachedOptions {
  env: Env
  /** stdout and stderr are appended here, so even a crash before logging starts is kept. */
  logFile: string
  cwd: string
}

/** Starts `program args…` in its own session (survives the parent), not waited for. */
export function spawnDetached(program: Program, args: string[], options: DetachedOptions): ChildProcess {
  mkdirSync(dirname(options.logFile), { recursive: true, mode: DIR_MODE })
  const out = openLogForAppend(options.logFile)
  try {
    const child = spawn(program.command, [...program.args, ...args], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...options.env },
      cwd: options.cwd,
      windowsHide: true,
    })
    child.unref()
    // A failed exec is reported as an 'error' event; keep it from becoming an uncaught one.
    child.on('error', () => {})
    return child
  } finally {
    closeSync(out)
  }
}

/** Signals the process group of a detached child (it leads its own), else the pid alone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
    return
  } catch {}
  try {
    process.kill(pid, signal)
  } catch {}
}

export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

/** Polls until `pid` has exited or `timeoutMs` passed; true when it is gone. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isPidAlive(pid)) {
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, pollMs))
  }
  return true
}

/**
 * SIGTERM, wait, then SIGKILL to the group: how a daemon process is ended. The caller has
 * confirmed that `pid` is the daemon (system/daemon-identity.ts); with its start time, each
 * signal is sent only while the pid is still that same process (it may exit and the pid be
 * given to another during the grace period).
 */
export async function terminate(pid: number, graceMs: number, o: { startTicks?: string | null } = {}): Promise<'terminated' | 'killed' | 'gone'> {
  const ticks = o.startTicks ?? processStartTicks(pid)
  const still = () => isSameProcessAlive(pid, ticks)
  if (!still()) return 'gone'
  signalPid(pid, 'SIGTERM')
  if (await waitForExit(pid, graceMs)) return 'terminated'
  if (!still()) return 'terminated'
  signalGroup(pid, 'SIGKILL')
  await waitForExit(pid, 5_000)
  return 'killed'
}
