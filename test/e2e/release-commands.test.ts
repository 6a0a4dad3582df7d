// `cco release …` end to end: a cco bundle as a real process against the real broker
// (`wrangler dev`) with releases announced by signed webhooks. Every command, the admin
// token (right, wrong, missing), the broker's refusals (404, 409, 422) as the user sees them,
// `--json`, and the promotion workflow's OIDC step minting a token the broker accepts.
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome, type CcoHome } from '../../support/cco-home.ts'
import { runCco, show } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { releasePayload } from '../../support/github.ts'
import { startFakeOidcIssuer, type FakeOidcIssuer } from '../support/release-oidc.ts'
import { findStep, loadWorkflow, runStep } from '../support/release-workflows.ts'

const A = '2026.5.1'
const B = '2026.5.2'
const C = '2026.5.3'
const AUDIENCE = 'cco-broker-e2e'

let broker: DevBroker
let issuer: FakeOidcIssuer
let home: CcoHome
let bin: string

beforeAll(async () => {
  issuer = await startFakeOidcIssuer({ repository: 'cco-dev/cco', ref: 'refs/heads/main', workflow: 'Promote', run_id: '4242' })
  ;[bin, broker] = await Promise.all([
    clientBundle({ version: '2026.5.9' }),
    startBroker({ vars: { OIDC_ISSUER: issuer.issuer, OIDC_JWKS_URL: issuer.jwksUrl, OIDC_AUDIENCE: AUDIENCE } }),
  ])
  home = makeHome('cco-e2e-release-')
  home.writeConfig({ server: broker.url })
  for (const version of [A, B, C]) {
    const name = `cco-${version}-linux-x86_64.tar.gz`
    const payload = releasePayload({
      action: 'published',
      tag: `v${version}`,
      assets: [
        {
          name,
          url: `https://github.com/cco-dev/cco/releases/download/v${version}/${name}`,
          size: 1000,
          digest: `sha256:${createHash('sha256').update(version).digest('hex')}`,
        },
      ],
    })
    const res = await broker.sendWebhook('release', payload)
    expect(res.status, broker.output()).toBe(200)
  }
}, 90_000)

afterAll(async () => {
  await broker?.stop()
  await issuer?.close()
  home?.cleanup()
})

const cco = (args: string[], env: Record<string, string | undefined> = { CCO_ADMIN_TOKEN: broker.adminToken }) =>
  runCco(bin, args, { home: home.home, env })

interface ChannelJson {
  channel: string
  version: string | null
  seq: number
  rollout: { percent: number; halted: boolean; reason?: string | null }
}
async function channels(): Promise<Record<string, ChannelJson>> {
  const r = await cco(['release', 'status', '--json'], {})
  expect(r.code, show(r)).toBe(0)
  const j = JSON.parse(r.stdout) as { channels: ChannelJson[] }
  return Object.fromEntries(j.channels.map((c) => [c.channel, c]))
}

describe('cco release against wrangler dev', () => {
  it('status lists the channels and releases without a token', async () => {
    const r = await cco(['release', 'status'], {})
    expect(r.code, show(r)).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe(`Broker: ${broker.url}`)
    expect(lines.find((l) => l.startsWith('stable '))).toMatch(/^stable\s+\(none\)\s+\d+\s+100%/)
    expect(lines.find((l) => l.startsWith('beta '))).toMatch(new RegExp(`^beta\\s+${C.replace(/\./g, '\\.')}\\s+\\d+\\s+100%`))
    for (const v of [A, B, C]) expect(r.stdout).toMatch(new RegExp(`^${v.replace(/\./g, '\\.')}\\s+live`, 'm'))
  })

  it('promotes, changes the rollout, halts and resumes, each with exactly one new seq', async () => {
    const before = (await channels()).stable!
    const promote = await cco(['release', 'promote', B, '--percent', '10'])
    expect(promote.code, show(promote)).toBe(0)
    expect(promote.stdout).toBe(`✅ Promoted ${B} to stable at 10%\n→ stable: ${B}, rollout 10%, not halted, seq ${before.seq + 1}\n`)

    const rollout = await cco(['release', 'rollout', '50'])
    expect(rollout.stdout, show(rollout)).toContain(`✅ Rollout of ${B} on stable set to 50%`)
    const halt = await cco(['release', 'halt', '--reason', 'error rate up'])
    expect(halt.stdout, show(halt)).toContain(`→ stable: ${B}, rollout 50%, halted (error rate up), seq ${before.seq + 3}`)
    const status = await cco(['release', 'status'], {})
    expect(status.stdout).toMatch(new RegExp(`^stable\\s+${B.replace(/\./g, '\\.')}\\s+${before.seq + 3}\\s+50%\\s+.*yes \\(by admin\\): error rate up$`, 'm'))

    // Asking again for what is already so changes nothing, and says so.
    const again = await cco(['release', 'halt', '--reason', 'still bad'])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain('→ Nothing changed: stable is already halted')

    const resume = await cco(['release', 'resume'])
    expect(resume.stdout, show(resume)).toContain(`✅ Resumed the rollout of ${B} on stable at 50%`)
    const after = (await channels()).stable!
    expect(after).toMatchObject({ version: B, seq: before.seq + 4, rollout: { percent: 50, halted: false } })
  })

  it('yanks and unyanks: beta falls back and returns; a second yank is refused (409, exit 1)', async () => {
    const yank = await cco(['release', 'yank', C, '--reason', 'corrupts the cache'])
    expect(yank.code, show(yank)).toBe(0)
    expect(yank.stdout).toContain(`✅ Yanked ${C}: corrupts the cache`)
    expect(yank.stdout).toMatch(/→ Re-signed: beta \(seq \d+\), stable \(seq \d+\)/)
    expect((await channels()).beta!.version).toBe(B)

    const twice = await cco(['release', 'yank', C, '--reason', 'again'])
    expect(twice.code).toBe(1)
    expect(twice.stderr).toMatch(new RegExp(`^the broker refused to yank ${C.replace(/\./g, '\\.')} \\(HTTP 409 conflict\\): .+\\n$`))

    const unyank = await cco(['release', 'unyank', C])
    expect(unyank.code, show(unyank)).toBe(0)
    expect(unyank.stdout).toContain(`✅ Unyanked ${C}`)
    expect((await channels()).beta!.version).toBe(C)
  })

  it("shows the broker's refusals: unknown version (404), promotion into beta (409), a bad page size (422)", async () => {
    const unknown = await cco(['release', 'promote', '2026.9.9'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^cannot promote 2026\.9\.9 to stable: not found \(HTTP 404 not_found\): .*2026\.9\.9.*\n$/)

    const intoBeta = await cco(['release', 'promote', A, '--channel', 'beta'])
    expect(intoBeta.code).toBe(1)
    expect(intoBeta.stderr).toMatch(/^the broker refused to promote 2026\.5\.1 to beta \(HTTP 409 conflict\): .+\n$/)

    const page = await cco(['release', 'audit', '-n', '5000'])
    expect(page.code).toBe(2)
    expect(page.stderr).toMatch(/^invalid request to read the audit log \(HTTP 422 invalid_request\): limit: .+\n$/)
  })

  it('refuses a wrong token (401, exit 2) and a missing one before sending anything', async () => {
    const seq = (await channels()).stable!.seq
    const wrong = await cco(['release', 'rollout', '100'], { CCO_ADMIN_TOKEN: 'not-the-token' })
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/^the broker refused the admin token \(HTTP 401 unauthorized\): .+; set CCO_ADMIN_TOKEN or pass --token-file FILE\n$/)
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-token')
    const missing = await cco(['release', 'rollout', '100'], {})
    expect(missing.code).toBe(2)
    expect((await channels()).stable!.seq).toBe(seq)
  })

  it('reads the audit log newest first, with the actor, and pages with --before', async () => {
    // Each change is one entry for the change and one per channel it re-signed.
    const r = await cco(['release', 'audit', '-n', '4'])
    expect(r.code, show(r)).toBe(0)
    const rows = r.stdout.trim().split('\n')
    expect(rows[0]).toMatch(/^ID\s+WHEN\s+ACTOR\s+ACTION\s+TARGET\s+DETAIL$/)
    expect(rows).toHaveLength(6)
    const ids = rows.slice(1, 5).map((row) => Number(row.split(/\s+/)[0]))
    expect(ids).toEqual([...ids].sort((x, y) => y - x))
    expect(rows.slice(1, 5)).toContainEqual(
      expect.stringMatching(new RegExp(`^\\d+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\s+token:e2e\\s+release\\.unyanked\\s+${C.replace(/\./g, '\\.')}`)),
    )
    const more = /cco release audit --before (\d+)/.exec(r.stdout)
    expect(more, r.stdout).not.toBeNull()

    const json = await cco(['release', 'audit', '--before', more![1]!, '-n', '50', '--json'])
    const page = JSON.parse(json.stdout) as { entries: { id: number; actor: string; action: string; detail: Record<string, unknown> }[] }
    expect(page.entries.every((e) => e.id < Number(more![1]))).toBe(true)
    const actions = page.entries.filter((e) => e.actor === 'token:e2e').map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['release.yanked', 'channel.resumed', 'channel.halted', 'channel.rollout', 'channel.promoted']))
    expect(page.entries.find((e) => e.action === 'channel.promoted')?.detail).toMatchObject({ version: B, percent: 10 })
  })

  it("prints the broker's JSON answer with --json", async () => {
    const r = await cco(['release', 'rollout', '100', '--json'])
    expect(r.code, show(r)).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ channel: 'stable', version: B, rollout: { percent: 100, halted: false }, changed: true })
  })
})

describe('the promotion workflow authenticates with an OIDC token, no stored admin token', () => {
  const mint = findStep(loadWorkflow('promote.yml'), 'promote', 'Mint an OIDC token for the broker')
  const jobEnv = (audience: string) => ({
    ACTIONS_ID_TOKEN_REQUEST_URL: issuer.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.requestToken,
    AUDIENCE: audience,
  })

  it("mints a token for the broker's audience that cco release promote is accepted with", async () => {
    const step = await runStep(mint, jobEnv(AUDIENCE))
    expect(step.code, step.stderr).toBe(0)
    const token = step.githubEnv.CCO_ADMIN_TOKEN
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    // The runner masks it in the log.
    expect(step.stdout).toContain(`::add-mask::${token}`)
    expect(issuer.minted.at(-1)).toBe(AUDIENCE)

    const r = await cco(['release', 'promote', C, '--percent', '25'], { CCO_ADMIN_TOKEN: token })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`✅ Promoted ${C} to stable at 25%`)
    const audit = JSON.parse((await cco(['release', 'audit', '-n', '5', '--json'])).stdout) as { entries: { actor: string; action: string; detail: Record<string, unknown> }[] }
    const promoted = audit.entries.find((e) => e.action === 'channel.promoted')
    expect(promoted).toMatchObject({ actor: 'oidc:cco-dev/cco@refs/heads/main', detail: { version: C, percent: 25 } })
  })

  it('a token minted for another audience is refused (401)', async () => {
    const step = await runStep(mint, jobEnv('some-other-service'))
    expect(step.code, step.stderr).toBe(0)
    const r = await cco(['release', 'rollout', '30'], { CCO_ADMIN_TOKEN: step.githubEnv.CCO_ADMIN_TOKEN })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('(HTTP 401 unauthorized)')
    expect(r.stderr).toContain('audience')
  })

  it('the step fails clearly when the audience variable is not set', async () => {
    const step = await runStep(mint, jobEnv(''))
    expect(step.code).not.toBe(0)
    expect(step.stdout).toContain('::error::set the repository variable CCO_BROKER_OIDC_AUDIENCE')
  })
})
