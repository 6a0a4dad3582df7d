// Is the process a pid file names our cco daemon? Asked before anything signals it (`daemon
// stop`, `restart`, the watchdog, the SIGUSR2 after a manual update) and before `daemon status`
// calls it running. Nothing written in the pid file is taken at its word: whoever can write the
// file can name any pid, binary and start time. On Linux the kernel answers: the process runs
// as you, started when the file says, and /proc/<pid>/exe is cco (or Node running a cco script)
// with `run` as its command. Without /proc (macOS) `ps` gives the owner and command line for
// the same checks. Only where neither can tell, the daemon has to prove that it wrote the pid
// file: it answers a random challenge on /health with an HMAC keyed by the nonce it keeps in
// the pid file (mode 0600); the nonce itself never travels. That proof alone cannot stop
// someone who forged the pid file and answers on the port himself, which is why it is the last
// resort and not the rule.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { request } from 'node:http'
import { basename } from 'node:path'
import { isSea } from 'node:sea'
import type { PidRecord } from './pid-file.ts'
import { hasProcFs, isPidAlive, processArgs, processExe, processStartTicks, processUid, psProcess } from './process-info.ts'

export const CHALLENGE_HEADER = 'x-cco-challenge'
export const PROOF_HEADER = 'x-cco-proof'
const CHALLENGE = /^[0-9a-f]{32,128}$/

/** The daemon's secret for this run, written only into its own pid file. */
export function newProofKey(): string {
  return randomBytes(32).toString('hex')
}

export function isChallenge(text: unknown): text is string {
  return typeof text === 'string' && CHALLENGE.test(text)
}

/** What the daemon answers to `challenge`: bound to its pid, so a proof names one process. */
export function daemonProof(key: string, challenge: string, pid: number): string {
  return createHmac('sha256', key).update(`cco-daemon-proof:${pid}:${challenge}`).digest('hex')
}

const CCO_NAME = /^cco(\.backup)?(\.exe)?$|^cco-\d/
const NODE_NAME = /^node(js)?[\d.]*(\.exe)?$/

/** A cco program by its file name: the binary, the backup, a versioned bundle, the source entry. */
export function isCcoProgramPath(path: string): boolean {
  return CCO_NAME.test(basename(path)) || path.endsWith('client/src/cli.ts')
}

/**
 * This process's own program (the single executable, or the script Node runs), resolved: a
 * daemon started from the same file is cco whatever the file is called. Never Node itself.
 */
function ownPrograms(): string[] {
  const own = isSea() ? process.execPath : process.argv[1]
  if (!own) return []
  try {
    return [...new Set([own, realpathSync(own)])]
  } catch {
    return [own]
  }
}

/**
 * `cco run …`, or Node running a cco script with `run`: how every cco daemon is started. A
 * cco program is known by its name or by being one of `known` (this process's own program).
 */
export function isCcoDaemonCommand(exe: string, args: readonly string[], known: readonly string[] = []): boolean {
  const isCco = (p: string) => isCcoProgramPath(p) || known.includes(p)
  let rest: readonly string[]
  if (isCco(exe)) {
    rest = args.slice(1)
  } else if (NODE_NAME.test(basename(exe))) {
    const script = args.findIndex((a, i) => i > 0 && !a.startsWith('-'))
    if (script < 0 || !isCco(args[script]!)) return false
    rest = args.slice(script + 1)
  } else {
    return false
  }
  return rest.find((a) => !a.startsWith('-')) === 'run'
}

/**
 * `ours`: the kernel says it is a cco daemon of yours. `stale`: the pid file is not about this
 * process (it is gone, started later, or is another program): it may be removed. `unsure`: it
 * may be a cco daemon, but not one this user may signal or can vouch for: never signalled, and
 * the pid file is left. `unverified`: neither /proc nor ps here; only the daemon's proof can tell.
 */
export type KernelVerdict =
  | { kind: 'ours' }
  | { kind: 'stale'; why: string }
  | { kind: 'unsure'; why: string }
  | { kind: 'unverified' }

function anotherProgram(pid: number, args: readonly string[], exe: string): KernelVerdict {
  const what = args.length ? args.slice(0, 3).join(' ') : exe
  return { kind: 'stale', why: `pid ${pid} is now another program (${what.length > 80 ? `${what.slice(0, 77)}...` : what}), not a cco daemon` }
}

function otherUser(pid: number, uid: number): KernelVerdict | null {
  const me = typeof process.getuid === 'function' ? process.getuid() : null
  return me !== null && uid !== me ? { kind: 'unsure', why: `pid ${pid} runs as uid ${uid}, not as you (uid ${me})` } : null
}

/**
 * The kernel's view of `pid` (/proc, else `ps`), compared with what the pid file says about it.
 * `procfs: false` makes it use `ps` where /proc exists too (tests).
 */
export function kernelVerdict(pid: number, startTicks: string | null, o: { procfs?: boolean } = {}): KernelVerdict {
  if (pid === process.pid) return { kind: 'ours' }
  if (!isPidAlive(pid)) return { kind: 'stale', why: `pid ${pid} is not running` }
  if (!(o.procfs ?? hasProcFs())) {
    const ps = psProcess(pid)
    if (!ps) return { kind: 'unverified' }
    const [exe = ''] = ps.args
    return otherUser(pid, ps.uid) ?? (isCcoDaemonCommand(exe, ps.args, ownPrograms()) ? { kind: 'ours' } : anotherProgram(pid, ps.args, exe))
  }
  const ticks = processStartTicks(pid)
  if (startTicks && ticks !== null && ticks !== startTicks) return { kind: 'stale', why: `pid ${pid} is now another program (it started after the pid file was written)` }
  const uid = processUid(pid)
  if (uid === null) return { kind: 'stale', why: `pid ${pid} is not running` }
  const foreign = otherUser(pid, uid)
  if (foreign) return foreign
  const exe = processExe(pid)
  if (exe.kind === 'denied') return { kind: 'unsure', why: `the kernel does not show which program pid ${pid} runs` }
  if (exe.kind === 'none') return { kind: 'stale', why: `pid ${pid} is not running` }
  const args = processArgs(pid) ?? []
  return isCcoDaemonCommand(exe.path, args, ownPrograms()) ? { kind: 'ours' } : anotherProgram(pid, args, exe.path)
}

export type Confirmation = { ok: true; how: 'kernel' | 'proof' } | { ok: false; stale: boolean; why: string }

/**
 * Whether `record` names our running daemon, for a caller about to signal it. The kernel's word
 * (/proc, else ps); only where neither answers, the daemon's answer to a challenge on /health.
 */
export async function confirmDaemon(record: PidRecord, o: { timeoutMs?: number } = {}): Promise<Confirmation> {
  const k = kernelVerdict(record.pid, record.start_ticks)
  if (k.kind === 'ours') return { ok: true, how: 'kernel' }
  if (k.kind === 'stale') return { ok: false, stale: true, why: k.why }
  if (k.kind === 'unsure') return { ok: false, stale: false, why: k.why }
  if (!record.nonce) return { ok: false, stale: false, why: `cannot confirm that pid ${record.pid} is the cco daemon: neither /proc nor ps shows it, and the pid file holds no proof key (written by an older cco)` }
  const proved = await askForProof(record, o.timeoutMs ?? 2_000)
  return proved === null ? { ok: true, how: 'proof' } : { ok: false, stale: false, why: `cannot confirm that pid ${record.pid} is the cco daemon: ${proved}` }
}

/** null when the daemon on the recorded port proved it holds the nonce as `record.pid`; else why not. */
function askForProof(record: PidRecord, timeoutMs: number): Promise<string | null> {
  const challenge = randomBytes(32).toString('hex')
  const where = `${record.host}:${record.port}`
  return new Promise((resolve) => {
    const req = request(
      {
        host: record.host.replace(/^\[(.*)\]$/, '$1'),
        port: record.port,
        path: '/health',
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
        headers: { accept: 'application/json', [CHALLENGE_HEADER]: challenge },
      },
      (res) => {
        res.resume()
        const proof = res.headers[PROOF_HEADER]
        if (typeof proof !== 'string' || !/^[0-9a-f]{64}$/.test(proof)) return resolve(`${where} did not answer with a proof`)
        const want = Buffer.from(daemonProof(record.nonce!, challenge, record.pid), 'hex')
        resolve(timingSafeEqual(want, Buffer.from(proof, 'hex')) ? null : `${where} answered with a wrong proof`)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', (err) => resolve(`${where} did not answer (${err.message})`))
    req.end()
  })
}
