// The keys `cco config get/set` know: how each is parsed from the command line and shown.
import { accessSync, constants } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from '../errors.ts'
import { formatUtc } from '../system/clock.ts'
import { LABEL_KEY_PATTERN } from '../../../contract/fleet.ts'
import { isLoopbackHost, redactCredentials } from '../system/url-policy.ts'
import { parseWindows, windowsOf } from './window.ts'
import { ALLOWED, checkIntervalMs, fleetLabelsProblem, fleetNameProblem, proxyProblem, serverProblem, type Config } from './schema.ts'

/** The TOML value to store, or `undefined` to remove the key. */
type Parsed = string | number | boolean | undefined

export interface KeySpec {
  key: string
  /** Shown by `config get` and `config show`. */
  show(config: Config): string
  /** Parses a command-line value; throws UsageError naming the allowed values. */
  parse?(input: string): Parsed
  /** Why `set` is refused for this key (written by cco itself, or a table). */
  readOnly?: string
  /** Where it lives in the file, when the key's dots are not the path (a label key may hold a dot). */
  path?: readonly string[]
}

function invalid(key: string, input: string, allowed: string, detail?: string): UsageError {
  // A refused proxy or server URL may still carry a password: never echo it; a refused fleet
  // token is not echoed at all.
  const shown = key === 'fleet.token' ? 'value (not shown)' : `value ${JSON.stringify(redactCredentials(input))}`
  return new UsageError(`invalid ${shown} for ${key}${detail ? ` (${detail})` : ''}: allowed values are ${allowed}`)
}

function bool(key: string) {
  return (input: string): Parsed => {
    if (input === 'true') return true
    if (input === 'false') return false
    throw invalid(key, input, ALLOWED.boolean)
  }
}

const showTime = (d: Date | null) => (d ? formatUtc(d) : 'Never')
const NOT_SET = '(not set)'

/** `env=prod, team=infra`, or `(not set)`. */
export function showLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels)
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : NOT_SET
}

const LABEL_PREFIX = 'fleet.labels.'

/** `fleet.labels.<key>`: one label, set or removed (`""`) on the command line. */
function labelKeySpec(key: string): KeySpec | null {
  if (!key.startsWith(LABEL_PREFIX)) return null
  const label = key.slice(LABEL_PREFIX.length)
  if (!LABEL_KEY_PATTERN.test(label)) {
    throw new UsageError(`invalid label key ${JSON.stringify(label)} in ${key}: a label key is 1–32 of a-z, 0-9, _ . - (starting with a letter or digit)`)
  }
  return {
    key,
    path: ['fleet', 'labels', label],
    show: (c) => c.fleet.labels[label] ?? NOT_SET,
    parse: (input) => {
      if (input === '') return undefined
      const problem = fleetLabelsProblem({ [label]: input })
      if (problem) throw invalid(key, input, 'a label value of 1–64 printable characters, or "" to remove the label', problem.message)
      return input
    },
  }
}

export const KEYS: readonly KeySpec[] = [
  { key: 'updates.enabled', show: (c) => String(c.updates.enabled), parse: bool('updates.enabled') },
  { key: 'updates.auto_install', show: (c) => String(c.updates.auto_install), parse: bool('updates.auto_install') },
  {
    key: 'updates.check_interval',
    show: (c) => c.updates.check_interval,
    parse: (input) => {
      if (checkIntervalMs(input) === undefined) throw invalid('updates.check_interval', input, ALLOWED.checkInterval)
      return input
    },
  },
  {
    key: 'updates.channel',
    show: (c) => c.updates.channel,
    parse: (input) => {
      if (input !== 'stable' && input !== 'beta') throw invalid('updates.channel', input, ALLOWED.channel)
      return input
    },
  },
  {
    key: 'updates.server',
    show: (c) => c.updates.server,
    parse: (input) => {
      const problem = serverProblem(input)
      if (problem) throw invalid('updates.server', input, ALLOWED.server, problem)
      return input
    },
  },
  {
    key: 'updates.window',
    show: (c) => {
      const windows = windowsOf(c.updates.window)
      return windows.length ? windows.map((w) => w.text).join('; ') : NOT_SET
    },
    parse: (input) => {
      if (input.trim() === '') return undefined
      const r = parseWindows([input])
      if (!r.ok) throw invalid('updates.window', input, ALLOWED.window, r.problem)
      return input.trim()
    },
  },
  { key: 'updates.last_check', show: (c) => showTime(c.updates.last_check), readOnly: 'it is written by cco after every completed check' },
  { key: 'updates.last_update', show: (c) => showTime(c.updates.last_update), readOnly: 'it is written by cco after every install' },
  {
    key: 'daemon.port',
    show: (c) => String(c.daemon.port),
    parse: (input) => {
      const n = /^\d{1,5}$/.test(input) ? Number(input) : NaN
      if (!(n >= 1 && n <= 65535)) throw invalid('daemon.port', input, ALLOWED.port)
      return n
    },
  },
  {
    key: 'daemon.host',
    show: (c) => c.daemon.host,
    parse: (input) => {
      if (!isLoopbackHost(input)) throw invalid('daemon.host', input, ALLOWED.host, 'the daemon only listens on this machine')
      return input
    },
  },
  {
    key: 'network.proxy',
    show: (c) => c.network.proxy ?? NOT_SET,
    parse: (input) => {
      if (input === '') return undefined
      const problem = proxyProblem(input)
      if (problem) throw invalid('network.proxy', input, ALLOWED.proxy, problem)
      return input
    },
  },
  { key: 'network.no_proxy', show: (c) => c.network.no_proxy ?? NOT_SET, parse: (input) => (input === '' ? undefined : input) },
  {
    key: 'network.ca_file',
    show: (c) => c.network.ca_file ?? NOT_SET,
    parse: (input) => {
      if (input === '') return undefined
      const path = resolve(input)
      try {
        accessSync(path, constants.R_OK)
      } catch {
        throw invalid('network.ca_file', input, 'the path of a readable PEM file, or "" to unset', 'file not readable')
      }
      return path
    },
  },
  {
    key: 'trust.keys',
    show: (c) => (c.trust.keys.length ? c.trust.keys.map((k) => k.kid).join(', ') : NOT_SET),
    readOnly: 'pinned keys are [[trust.keys]] tables with kid and x: edit the config file',
  },
  { key: 'fleet.report', show: (c) => String(c.fleet.report), parse: bool('fleet.report') },
  {
    key: 'fleet.token',
    // The token is never shown: only whether the file holds one (CCO_FLEET_TOKEN is not config).
    show: (c) => (c.fleet.token === undefined ? 'not set' : 'set'),
    parse: (input) => {
      if (input === '') return undefined
      if (!/^[\x21-\x7e]{1,1024}$/.test(input)) throw invalid('fleet.token', input, ALLOWED.fleetToken)
      return input
    },
  },
  {
    key: 'fleet.name',
    show: (c) => c.fleet.name ?? NOT_SET,
    parse: (input) => {
      if (input === '') return undefined
      if (fleetNameProblem(input) !== null) throw invalid('fleet.name', input, `${ALLOWED.fleetName}, or "" to unset`)
      return input
    },
  },
  {
    key: 'fleet.labels',
    show: (c) => showLabels(c.fleet.labels),
    readOnly: 'set one label with cco config set fleet.labels.KEY VALUE, or edit the [fleet.labels] table',
  },
]

export function keySpec(key: string): KeySpec {
  const label = labelKeySpec(key)
  if (label) return label
  const spec = KEYS.find((k) => k.key === key)
  if (!spec) throw new UsageError(`unknown config key ${JSON.stringify(key)}; known keys: ${KEYS.map((k) => k.key).join(', ')}`)
  return spec
}
