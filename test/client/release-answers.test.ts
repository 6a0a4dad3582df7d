// `cco release …` reads the broker's answers the way contract/README.md promises: an answer from
// a newer broker (fields, channels, platforms, statuses and audit details this cco does not
// know, fields it can do without left out) still parses and prints, `--json` keeps all of it,
// and only an answer that lacks what the client shows, or has it of the wrong type, is refused.
import { describe, expect, it } from 'vitest'
import { Accepted, Served } from '../../contract/api.ts'
import { releaseCli, servedChannel } from '../support/release-admin-fake.ts'

const t = releaseCli('cco-release-answers-', 'cco-test-token')
const cco = (args: string[]) => t.cco(args)

/** A channel exactly as this broker serves it. */
const channel = servedChannel()
/** A release exactly as this broker lists it. */
const release = {
  version: '2026.11.3',
  tag: 'v2026.11.3',
  status: 'live',
  reason: null,
  prerelease: false,
  published_at: '2026-11-25T14:00:00Z',
  first_seen_at: '2026-11-25T14:00:05Z',
  updated_at: '2026-11-25T14:00:05Z',
  channels: ['beta', 'stable'],
  yanked: null,
  live_since: '2026-11-25T14:00:05Z',
  pending: null,
  mirror: null,
  notes_url: 'https://github.com/cco-dev/cco/releases/tag/v2026.11.3',
  github_release_id: 1001,
  assets: {
    'linux-x86_64': {
      name: 'cco-2026.11.3-linux-x86_64.tar.gz',
      size: 1234,
      sha256: 'a'.repeat(64),
      url: 'https://broker.test/v1/assets/2026.11.3/aaaa/cco-2026.11.3-linux-x86_64.tar.gz',
      source_url: 'https://github.com/cco-dev/cco/releases/download/v2026.11.3/cco-2026.11.3-linux-x86_64.tar.gz',
    },
  },
}

it('the fixtures are what this broker serves', () => {
  expect(Served.ChannelSummary.safeParse(channel).error).toBeUndefined()
  expect(Served.ReleaseView.safeParse(release).error).toBeUndefined()
})

describe('an answer from a newer broker', () => {
  it('keeps the fields it does not know, wherever they are', () => {
    const newer = { ...channel, channel: 'nightly', region: 'eu', rollout: { ...channel.rollout, strategy: 'canary' } }
    expect(Served.ChannelSummary.safeParse(newer).success).toBe(false)
    expect(Accepted.ChannelSummary.parse(newer)).toEqual(newer)
  })

  it('still parses and prints in the status tables, with new channels, platforms and statuses', async () => {
    t.fake.answer('GET /v1/channels', {
      body: {
        channels: [
          { ...channel, region: 'eu', rollout: { ...channel.rollout, strategy: 'canary' } },
          // A channel this cco does not know, without the fields a client can do without.
          { channel: 'nightly', version: '2026.11.5', seq: 2, rollout: { percent: 100, halted: false } },
        ],
        generated_at: '2026-11-26T20:00:00Z',
      },
    })
    t.fake.answer('GET /v1/releases', {
      body: {
        releases: [
          { ...release, version: '2026.11.5', status: 'quarantined', channels: ['nightly'], signed_by: ['k1'], assets: { ...release.assets, 'linux-riscv64': { name: 'x.tar.gz' } } },
          { ...release, yanked: { reason: 'crashes', at: '2026-11-26T10:00:00Z', by: 'token:ci' } },
          // Only what the table shows.
          { version: '2026.11.2', status: 'withdrawn' },
        ],
        total: 3,
      },
    })
    const r = await cco(['release', 'status'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(
      [
        `Broker: ${t.fake.url}`,
        '',
        'CHANNEL  VERSION    SEQ  ROLLOUT  EXPIRES                  HALTED',
        'stable   2026.11.3  13   10%      2026-12-03 20:00:00 UTC  no',
        'nightly  2026.11.5  2    100%     -                        no',
        '',
        'stable: failure guard halts at ≥ 3 failed hosts and ≥ 5 % of those that attempted the version',
        '',
        'RELEASE    STATUS       CHANNELS     PUBLISHED                YANKED',
        '2026.11.5  quarantined  nightly      2026-11-25 14:00:00 UTC  -',
        '2026.11.3  live         beta,stable  2026-11-25 14:00:00 UTC  yes: crashes',
        '2026.11.2  withdrawn    -            -                        -',
        '',
      ].join('\n'),
    )

    const json = JSON.parse((await cco(['release', 'status', '--json'])).stdout) as Record<string, any>
    expect(json.generated_at).toBe('2026-11-26T20:00:00Z')
    expect(json.total).toBe(3)
    expect(json.channels[0].rollout.strategy).toBe('canary')
    expect(json.releases[0].signed_by).toEqual(['k1'])
  })

  it('still parses and prints a channel change, also without `changed`', async () => {
    t.fake.answer('POST /v1/channels/stable/rollout', { body: { ...channel, rollout: { ...channel.rollout, percent: 50 }, changed: true, took_ms: 12 } })
    t.fake.answer('POST /v1/channels/stable/resume', { body: { ...channel, seq: 14, note: 'resumed by policy' } })
    const rollout = await cco(['release', 'rollout', '50'])
    expect(rollout.code, rollout.stderr).toBe(0)
    expect(rollout.stdout).toBe('✅ Rollout of 2026.11.3 on stable set to 50%\n→ stable: 2026.11.3, rollout 50%, not halted, seq 13\n')
    const resume = await cco(['release', 'resume'])
    expect(resume.stdout).toBe('✅ Resumed the rollout of 2026.11.3 on stable at 10%\n→ stable: 2026.11.3, rollout 10%, not halted, seq 14\n')
  })

  it('still parses and prints a yank, with channels it does not know', async () => {
    t.fake.answer('POST /v1/releases/2026.11.3/yank', {
      body: { release: { ...release, channels: ['nightly'], yanked: { reason: 'data loss', at: '2026-11-26T21:00:00Z', ticket: 'INC-7' } }, channels: { stable: 14, nightly: 3 }, purge: 'done' },
    })
    const r = await cco(['release', 'yank', '2026.11.3', '--reason', 'data loss'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('✅ Yanked 2026.11.3: data loss\n')
    expect(r.stdout).toContain('→ Re-signed: nightly (seq 3), stable (seq 14)\n')
    expect(r.stdout).toContain('→ 2026.11.3 is now on: nightly\n')
  })

  it('still parses and prints the audit log, with new actions and details of any form', async () => {
    t.fake.answer('GET /v1/audit', {
      body: {
        entries: [
          { id: 9, at: '2026-11-26T20:00:00Z', actor: 'token:ci', action: 'channel.canaried', target: 'stable', delivery: null, detail: 'canary to 5 hosts', region: 'eu' },
          { id: 8, at: '2026-11-26T19:00:00Z', actor: 'broker', action: 'manifest.signed', detail: { seq: 3 } },
        ],
        next_before: 8,
        retention_days: 90,
      },
    })
    const r = await cco(['release', 'audit'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe(
      [
        'ID  WHEN                     ACTOR     ACTION            TARGET  DETAIL',
        '9   2026-11-26 20:00:00 UTC  token:ci  channel.canaried  stable  "canary to 5 hosts"',
        '8   2026-11-26 19:00:00 UTC  broker    manifest.signed   -       seq=3',
        '(older entries: cco release audit --before 8)',
        '',
      ].join('\n'),
    )
  })

  it("shows a refusal's message when the error body has more fields", async () => {
    t.fake.answer('POST /v1/channels/stable/halt', { status: 409, body: { error: { code: 'conflict', message: 'stable has no release', hint: 'promote first' }, request_id: 'r-1' } })
    const r = await cco(['release', 'halt', '--reason', 'crash'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('the broker refused to halt stable (HTTP 409 conflict): stable has no release\n')
  })
})

describe('an answer without what the client shows is refused (exit 3), naming the field', () => {
  it.each([
    ['a missing seq', { channels: [{ ...channel, seq: undefined }] }, 'channels.0.seq'],
    ['a seq of the wrong type', { channels: [{ ...channel, seq: '13' }] }, 'channels.0.seq'],
    ['a missing rollout', { channels: [{ ...channel, rollout: undefined }] }, 'channels.0.rollout'],
    ['a list that is not an object', [channel], '(root)'],
  ])('%s', async (_what, body, field) => {
    t.fake.answer('GET /v1/channels', { body })
    t.fake.answer('GET /v1/releases', { body: { releases: [] } })
    const r = await cco(['release', 'status'])
    expect(r.code).toBe(3)
    expect(r.stderr.startsWith(`the broker's answer to list the channels is not what this cco understands at ${field}: `), r.stderr).toBe(true)
    expect(r.stderr.endsWith(` (is ${t.fake.url} a cco broker?)\n`), r.stderr).toBe(true)
    expect(r.stdout).toBe('')
  })
})
