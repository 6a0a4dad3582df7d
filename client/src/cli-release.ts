// Registers `cco release status|promote|rollout|halt|resume|guard|yank|unyank|audit` and `cco release
// fleet [hosts|events]` on the program: argv → options → command → printer, like the other
// commands in main.ts.
import { Option, type Command } from 'commander'
import { EVENT_KINDS, EVENT_OUTCOMES } from '../../contract/fleet.ts'
import { CHANNELS } from '../../contract/manifest.ts'
import { DEFAULT_EVENTS_LIMIT, DEFAULT_HOSTS_LIMIT } from './commands/option-defaults.ts'
import { selector, type CommandSelection } from './command-selection.ts'
import { formatFleet, formatFleetEvents, formatFleetHosts } from './output/fleet.ts'
import { formatAudit, formatChannelChange, formatStatus, formatYank } from './output/release.ts'

interface Connection {
  server?: string
  tokenFile?: string
  json?: boolean
}

const DEFAULT_RELEASES_SHOWN = 10

function withConnection(cmd: Command, token = true): Command {
  cmd.option('--server <url>', 'the broker (default: updates.server)')
  if (token) cmd.option('--token-file <file>', 'read the admin token from the first line of FILE (default: $CCO_ADMIN_TOKEN)')
  return cmd.option('--json', "print the broker's JSON answer")
}

const channelOption = () => new Option('--channel <channel>', 'the channel').choices([...CHANNELS]).default('stable')

export function registerReleaseCommands(program: Command, select: (s: CommandSelection) => void): void {
  const release = program
    .command('release')
    .description("release engineering on the broker: promote, roll out, halt, yank (token: $CCO_ADMIN_TOKEN or --token-file)")
    .exitOverride()
  const pick = selector(select)
  const connection = (o: Connection) => ({ server: o.server, tokenFile: o.tokenFile })

  withConnection(
    release
      .command('status')
      .description('channels (version, seq, rollout, halted, expiry) and the latest releases; no token needed')
      .option('--releases <n>', `how many releases to list (default ${DEFAULT_RELEASES_SHOWN})`),
    false,
  ).action((o: Connection & { releases?: string }) =>
    pick(o, async (app) => {
      // arguments.ts builds the request schemas of contract/api.ts: loaded when a release command runs.
      const releases = o.releases === undefined ? DEFAULT_RELEASES_SHOWN : (await import('./release/arguments.ts')).parseCount(o.releases, '--releases')
      const s = await (await import('./commands/release-status.ts')).releaseStatusCommand(app, { ...connection(o), releases })
      return { json: s.json, lines: formatStatus(s) }
    }),
  )

  withConnection(
    release
      .command('promote')
      .description('point a channel (stable by default) at a version that is on beta')
      .argument('<version>', 'e.g. 2026.11.3')
      .option('--percent <n>', 'roll it out to this share of hosts (0–100; default 100)')
      .option('--force', 'skip the minimum soak time on beta (recorded in the audit log)')
      .option('--ramp <steps>', 'start at the first of these percents and move on by schedule, e.g. 1,10,50,100 (2–10 increasing steps)')
      .option('--every <span>', 'with --ramp: how long each step lasts (e.g. 30m, 6h, 1d; at least 60s)')
      .addOption(channelOption()),
  ).action((version: string, o: Connection & { percent?: string; force?: boolean; channel: string; ramp?: string; every?: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-promote.ts')).releasePromoteCommand(app, version, { ...connection(o), channel: o.channel, percent: o.percent, force: !!o.force, ramp: o.ramp, every: o.every })
      return { json: r.json, lines: formatChannelChange(r) }
    }),
  )

  withConnection(
    release
      .command('rollout')
      .description("set the share of hosts that install the channel's version")
      .argument('[percent]', '0–100 (or --ramp)')
      .option('--ramp <steps>', 'start at the first of these percents and move on by schedule, e.g. 1,10,50,100 (2–10 increasing steps)')
      .option('--every <span>', 'with --ramp: how long each step lasts (e.g. 30m, 6h, 1d; at least 60s)')
      .addOption(channelOption()),
  ).action((percent: string | undefined, o: Connection & { channel: string; ramp?: string; every?: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-rollout.ts')).releaseRolloutCommand(app, percent, { ...connection(o), channel: o.channel, ramp: o.ramp, every: o.every })
      return { json: r.json, lines: formatChannelChange(r) }
    }),
  )

  withConnection(
    release
      .command('halt')
      .description("stop the rollout: no host installs the channel's version until it is resumed")
      .requiredOption('--reason <text>', 'why (shown in status and the audit log)')
      .addOption(channelOption()),
  ).action((o: Connection & { reason: string; channel: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-rollout.ts')).releaseHaltCommand(app, { ...connection(o), channel: o.channel, reason: o.reason })
      return { json: r.json, lines: formatChannelChange(r) }
    }),
  )

  withConnection(
    release
      .command('guard')
      .description('set the failure guard: the rollout halts itself when at least N hosts and P % of the hosts that attempted its version failed it')
      .option('--min-failures <n>', 'failed hosts needed to halt (default on the broker: 3)')
      .option('--min-failure-percent <p>', 'share of the hosts that attempted the version, 0–100 (default on the broker: 5)')
      .addOption(channelOption()),
  ).action((o: Connection & { channel: string; minFailures?: string; minFailurePercent?: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-rollout.ts')).releaseGuardCommand(app, { ...connection(o), channel: o.channel, minFailures: o.minFailures, minFailurePercent: o.minFailurePercent })
      return { json: r.json, lines: formatChannelChange(r) }
    }),
  )

  withConnection(release.command('resume').description('restart a halted rollout').addOption(channelOption())).action(
    (o: Connection & { channel: string }) =>
      pick(o, async (app) => {
        const r = await (await import('./commands/release-rollout.ts')).releaseResumeCommand(app, { ...connection(o), channel: o.channel })
        return { json: r.json, lines: formatChannelChange(r) }
      }),
  )

  withConnection(
    release
      .command('yank')
      .description('withdraw a version from every channel; hosts running it move off it')
      .argument('<version>', 'e.g. 2026.11.2')
      .requiredOption('--reason <text>', 'why (shown to hosts running it)'),
  ).action((version: string, o: Connection & { reason: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-yank.ts')).releaseYankCommand(app, version, { ...connection(o), reason: o.reason })
      return { json: r.json, lines: formatYank(r) }
    }),
  )

  withConnection(release.command('unyank').description('take a yank back (stable moves back only by promotion)').argument('<version>', 'e.g. 2026.11.2')).action(
    (version: string, o: Connection) =>
      pick(o, async (app) => {
        const r = await (await import('./commands/release-yank.ts')).releaseUnyankCommand(app, version, connection(o))
        return { json: r.json, lines: formatYank(r) }
      }),
  )

  withConnection(
    release
      .command('audit')
      .description('who changed what on the broker, newest first')
      .option('-n, --limit <n>', 'entries per page')
      .option('--before <id>', 'entries older than this id (the next page)'),
  ).action((o: Connection & { limit?: string; before?: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-audit.ts')).releaseAuditCommand(app, { ...connection(o), limit: o.limit, before: o.before })
      return { json: r.json, lines: formatAudit(r) }
    }),
  )

  const fleet = release
    .command('fleet')
    .description('what the hosts that opted into fleet reports run and did: the summary (no subcommand: versions, platforms, stale hosts, rollout progress), hosts, events; admin token needed')
    .exitOverride()

  // `cco release fleet` alone is the summary.
  withConnection(
    fleet.command('summary', { isDefault: true, hidden: true }).description('hosts by version and channel, by platform, stale hosts, each channel\'s rollout progress'),
  ).action((o: Connection) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-fleet.ts')).releaseFleetCommand(app, connection(o))
      return { json: r.json, lines: formatFleet(r) }
    }),
  )

  withConnection(
    fleet
      .command('hosts')
      .description('the reporting hosts (by host id), with their version, channel, last report and problems')
      .option('--version <version>', 'only hosts running this version')
      .addOption(new Option('--channel <channel>', 'only hosts on this channel').choices([...CHANNELS]))
      .option('--label <key=value>', 'only hosts with this label')
      .option('--stale', 'only hosts not seen within twice their check interval')
      .addOption(new Option('--outcome <outcome>', 'only hosts whose last event had this outcome').choices([...EVENT_OUTCOMES]))
      .option('--limit <n>', `at most this many hosts, over as many pages as it takes (default ${DEFAULT_HOSTS_LIMIT})`),
  ).action((o: Connection & { version?: string; channel?: string; label?: string; stale?: boolean; outcome?: string; limit?: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-fleet.ts')).releaseFleetHostsCommand(app, { ...connection(o), version: o.version, channel: o.channel, label: o.label, stale: !!o.stale, outcome: o.outcome, limit: o.limit })
      return { json: r.json, lines: formatFleetHosts(r) }
    }),
  )

  withConnection(
    fleet
      .command('events')
      .description('what hosts reported, newest first: checks, installs, rollbacks, health verdicts')
      .option('--host <id>', 'only this host (a host id from cco release fleet hosts)')
      .option('--version <version>', 'only events from or to this version')
      .option('--since <time>', 'only events since this time (2026-11-20T10:00:00Z) or span (30m, 24h, 7d)')
      .addOption(new Option('--kind <kind>', 'only events of this kind').choices([...EVENT_KINDS]))
      .option('--limit <n>', `at most this many events (default ${DEFAULT_EVENTS_LIMIT})`),
  ).action((o: Connection & { host?: string; version?: string; since?: string; kind?: string; limit?: string }) =>
    pick(o, async (app) => {
      const r = await (await import('./commands/release-fleet.ts')).releaseFleetEventsCommand(app, { ...connection(o), host: o.host, version: o.version, since: o.since, kind: o.kind, limit: o.limit })
      return { json: r.json, lines: formatFleetEvents(r) }
    }),
  )
}
