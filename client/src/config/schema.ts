// The config file's shape and defaults (zod), checked every time it is read or written.
import * as z from 'zod'
import { FleetReportSchema } from '../../../contract/fleet.ts'
import { firstIssueInWords } from '../../../contract/issues.ts'
import { CHANNELS, PublicKeySchema } from '../../../contract/manifest.ts'
import { DEFAULT_SERVER } from '../build-info.ts'
import { isLoopbackHost, redactCredentials, transportProblem } from '../system/url-policy.ts'
import { parseWindows, WINDOW_GRAMMAR } from './window.ts'

export const CHECK_INTERVAL_WORDS = ['hourly', 'daily', 'weekly', 'never'] as const
const DURATION = /^([1-9]\d{0,6})(s|m|h|d)$/
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
/** The shortest explicit interval. Intervals under a minute are meant for tests and demonstrations. */
export const MIN_CHECK_INTERVAL_MS = 1_000
export const MAX_CHECK_INTERVAL_MS = 365 * 86_400_000

/** Milliseconds between checks, null for `never`, undefined when the text is not valid. */
export function checkIntervalMs(text: string): number | null | undefined {
  switch (text) {
    case 'hourly':
      return 3_600_000
    case 'daily':
      return 86_400_000
    case 'weekly':
      return 7 * 86_400_000
    case 'never':
      return null
  }
  const m = DURATION.exec(text)
  if (!m) return undefined
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]
  return ms >= MIN_CHECK_INTERVAL_MS && ms <= MAX_CHECK_INTERVAL_MS ? ms : undefined
}

export const ALLOWED = {
  boolean: 'true, false',
  checkInterval: 'hourly, daily, weekly, never, or a duration like 90s, 30m, 6h, 2d (between 1s and 365d; under a minute only for testing)',
  channel: CHANNELS.join(', '),
  server: 'an https:// URL, or http:// to a loopback host (127.0.0.1, ::1, localhost)',
  port: 'an integer from 1 to 65535',
  host: 'a loopback address (127.0.0.1, ::1, localhost)',
  proxy: 'an http:// or https:// proxy URL, or "" to use the environment',
  fleetToken: 'the fleet enrollment token (1–1024 visible ASCII characters, no spaces)',
  fleetName: 'a name for this host in fleet reports: 1–64 of A-Z, a-z, 0-9, . _ -',
  window: WINDOW_GRAMMAR,
} as const

/** Why `name` is not a host name a fleet report accepts (the contract's rule), null when it is. */
export function fleetNameProblem(name: unknown): string | null {
  const parsed = FleetReportSchema.shape.name.safeParse(name)
  return parsed.success ? null : firstIssueInWords(parsed.error)
}

/** Why `labels` are not labels a fleet report accepts (the contract's key, value and count rules), null when they are. */
export function fleetLabelsProblem(labels: unknown): { path: PropertyKey[]; message: string } | null {
  const parsed = FleetReportSchema.shape.labels.safeParse(labels)
  if (parsed.success) return null
  const first = parsed.error.issues[0]
  return { path: [...(first?.path ?? [])], message: firstIssueInWords({ issues: first ? [{ ...first, path: [] }] : [] }).replace(/^\(root\): /, '') }
}

const FLEET_TOKEN = /^[\x21-\x7e]{1,1024}$/

export function serverProblem(text: string): string | null {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'not a URL'
  }
  if (url.search || url.hash) return 'must not have a query or fragment'
  return transportProblem(url)
}

export function proxyProblem(text: string): string | null {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'not a URL'
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? null : `unsupported proxy scheme ${url.protocol}`
}

// TOML has a native datetime type; cco writes strings, but a hand-written datetime is fine too.
const Timestamp = z
  .union([z.date(), z.string()])
  .transform((v, ctx) => {
    if (v === '') return null
    // toml-patch's date classes print their source text from toISOString(): normalise.
    const d = v instanceof Date ? new Date(v.getTime()) : new Date(v)
    if (typeof v === 'string' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 timestamp like 2025-11-17T14:32:15Z' })
      return z.NEVER
    }
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'must be an RFC 3339 timestamp like 2025-11-17T14:32:15Z' })
      return z.NEVER
    }
    return d
  })
  .nullable()
  .default(null)

const Bool = z.boolean({ error: `must be one of ${ALLOWED.boolean}` })

export const UpdatesSchema = z.object({
  enabled: Bool.default(true),
  auto_install: Bool.default(false),
  check_interval: z
    .string({ error: `must be one of ${ALLOWED.checkInterval}` })
    .refine((s) => checkIntervalMs(s) !== undefined, `must be one of ${ALLOWED.checkInterval}`)
    .default('daily'),
  channel: z.enum(CHANNELS, { error: `must be one of ${ALLOWED.channel}` }).default('stable'),
  server: z
    .string({ error: `must be ${ALLOWED.server}` })
    .superRefine((s, ctx) => {
      const p = serverProblem(s)
      if (p) ctx.addIssue({ code: 'custom', message: `must be ${ALLOWED.server} (${p})` })
    })
    .default(DEFAULT_SERVER),
  // Maintenance windows (window.ts): the daemon installs only inside one. A string or an array of them.
  window: z
    .union([z.string(), z.array(z.string())], { error: `must be ${ALLOWED.window}` })
    .superRefine((v, ctx) => {
      const r = parseWindows(typeof v === 'string' ? [v] : v)
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `${r.problem}; expected ${ALLOWED.window}` })
    })
    .optional(),
  last_check: Timestamp,
  last_update: Timestamp,
})

export const DaemonSchema = z.object({
  port: z.int({ error: `must be ${ALLOWED.port}` }).min(1, `must be ${ALLOWED.port}`).max(65535, `must be ${ALLOWED.port}`).default(3000),
  host: z
    .string({ error: `must be ${ALLOWED.host}` })
    .refine(isLoopbackHost, `must be ${ALLOWED.host}`)
    .default('127.0.0.1'),
})

export const NetworkSchema = z.object({
  proxy: z
    .string({ error: `must be ${ALLOWED.proxy}` })
    .superRefine((s, ctx) => {
      const p = proxyProblem(s)
      if (p) ctx.addIssue({ code: 'custom', message: `must be ${ALLOWED.proxy} (${p})` })
    })
    .optional(),
  no_proxy: z.string({ error: 'must be a comma-separated list of hosts' }).optional(),
  ca_file: z.string({ error: 'must be the path of a PEM file' }).min(1, 'must be the path of a PEM file').optional(),
})

export const TrustSchema = z.object({
  keys: z.array(PublicKeySchema, { error: 'must be [[trust.keys]] tables with kid and x' }).default([]),
})

/**
 * `[fleet]`: opt-in reports of this host's checks, installs, rollbacks and health verdicts to the
 * broker (fleet/). `name` and `labels` follow the contract's rules (contract/fleet.ts), so a value
 * the broker would refuse is refused here, when it is written, and not at every report.
 */
export const FleetSchema = z.object({
  report: Bool.default(false),
  // Never echoed in a message (describeIssues leaves out the values of fleet.token).
  token: z.string({ error: `must be ${ALLOWED.fleetToken}` }).regex(FLEET_TOKEN, `must be ${ALLOWED.fleetToken}`).optional(),
  name: z
    .string({ error: `must be ${ALLOWED.fleetName}` })
    .superRefine((s, ctx) => {
      if (fleetNameProblem(s) !== null) ctx.addIssue({ code: 'custom', message: `must be ${ALLOWED.fleetName}` })
    })
    .optional(),
  labels: z
    .record(z.string(), z.string({ error: 'a label value must be a string' }), { error: 'must be a table of short strings (env = "prod")' })
    .superRefine((labels, ctx) => {
      const p = fleetLabelsProblem(labels)
      if (p) ctx.addIssue({ code: 'custom', path: p.path, message: p.message })
    })
    .default({}),
})

// Unknown tables and keys are allowed (and kept by `config set`): a newer cco may add some.
export const ConfigSchema = z.object({
  updates: UpdatesSchema.default(UpdatesSchema.parse({})),
  daemon: DaemonSchema.default(DaemonSchema.parse({})),
  network: NetworkSchema.default({}),
  trust: TrustSchema.default({ keys: [] }),
  fleet: FleetSchema.default(FleetSchema.parse({})),
})

export type Config = z.infer<typeof ConfigSchema>

/** `updates.channel: must be one of stable, beta (got "nightly")` for each problem. */
export function describeIssues(error: z.ZodError, raw: unknown): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.map(String).join('.')
      // The fleet token is a secret: a refused one is not shown, not even in part.
      const got = key === 'fleet.token' ? undefined : valueAt(raw, issue.path)
      // The message reaches stderr and daemon.log: a refused proxy URL may carry a password.
      const value = got instanceof Date ? got.toISOString() : typeof got === 'string' ? redactCredentials(got) : got
      const shown = got === undefined ? '' : ` (got ${JSON.stringify(value)})`
      return `${key || '(file)'}: ${issue.message}${shown}`
    })
    .join('; ')
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined
    cur = (cur as Record<PropertyKey, unknown>)[p]
  }
  return cur
}
