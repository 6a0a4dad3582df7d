// The GitHub workflows parse, run what the release process needs in the right order, keep
// untrusted values out of shell scripts, and their shell steps behave when run here.
import { describe, expect, it } from 'vitest'
import { isVersion } from '../../contract/version.ts'
import { findStep, loadWorkflow, runStep, workflowText, type Workflow } from '../support/release-workflows.ts'

const FILES = ['release.yml', 'deploy.yml', 'promote.yml']

const runs = (w: Workflow, job: string) => (w.jobs[job]?.steps ?? []).map((s) => s.run ?? s.uses ?? '')

describe('every workflow', () => {
  it.each(FILES)('%s parses as YAML with unique keys and has jobs with steps', (file) => {
    const w = loadWorkflow(file)
    expect(w.name).toBeTruthy()
    expect(Object.keys(w.jobs).length).toBeGreaterThan(0)
    for (const job of Object.values(w.jobs)) {
      expect(job['runs-on']).toBeTruthy()
      expect(job.steps.length).toBeGreaterThan(0)
    }
    // Least privilege by default; jobs widen it where needed.
    expect(w.permissions?.contents).toBe('read')
  })

  it.each(FILES)('%s passes expressions to scripts through env, never into the script text', (file) => {
    for (const job of Object.values(loadWorkflow(file).jobs)) {
      for (const step of job.steps) if (step.run) expect(step.run, `${file}: ${step.name ?? step.run}`).not.toContain('${{')
    }
  })
})

describe('release.yml', () => {
  const w = loadWorkflow('release.yml')

  it('runs on version tags: tests, builds with the broker URL and pinned keys, re-signs on macOS, publishes', () => {
    expect(w.on).toEqual({ push: { tags: ['v*'] } })
    const build = runs(w, 'build')
    const order = ['npm ci', 'npm test', 'npm run build:release']
    const at = order.map((cmd) => build.findIndex((r) => r.includes(cmd)))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect(at).toEqual([...at].sort((a, b) => a - b))
    const step = findStep(w, 'build', 'Build the release archives')
    expect(step.env).toMatchObject({ BROKER_URL: '${{ vars.CCO_BROKER_URL }}', TRUST_KEYS: '${{ vars.CCO_TRUST_KEYS }}' })
    expect(step.run).toContain('--trust-key "$key"')
    expect(step.run).toContain('sha256sum -c checksums.txt')

    expect(w.jobs['sign-macos']?.['runs-on']).toMatch(/^macos-/)
    expect(runs(w, 'sign-macos').join('\n')).toContain('codesign --force --sign - "$work/cco"')

    const publish = w.jobs.publish!
    expect(publish.needs).toEqual(['build', 'sign-macos'])
    expect(publish.permissions).toEqual({ contents: 'write' })
    const create = findStep(w, 'publish', 'Create the release').run!
    expect(create).toContain('gh release create "$TAG"')
    expect(create).toContain('--prerelease')
    expect(create).toContain('release/*')
  })

  it.each([
    ['v2026.11.3', '2026.11.3', 'false'],
    ['v2026.11.3-beta.1', '2026.11.3-beta.1', 'true'],
    ['v2025.11.2+ac4de7d', '2025.11.2+ac4de7d', 'false'],
  ])('takes the version from tag %s', async (tag, version, prerelease) => {
    const r = await runStep(findStep(w, 'build', 'Version from the tag'), { TAG: tag })
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.githubOutput).toEqual({ version, prerelease })
    expect(isVersion(version)).toBe(true)
  })

  it.each(['vnext', 'v2026', 'release-1'])('refuses the tag %s', async (tag) => {
    const r = await runStep(findStep(w, 'build', 'Version from the tag'), { TAG: tag })
    expect(r.code).not.toBe(0)
    expect(r.stdout).toContain('is not a version tag')
    expect(isVersion(tag.replace(/^v/, ''))).toBe(false)
  })
})

describe('deploy.yml', () => {
  it('tests, then deploys the Worker with the Cloudflare token from secrets, on pushes to main', () => {
    const w = loadWorkflow('deploy.yml')
    expect(w.on).toMatchObject({ push: { branches: ['main'] } })
    const steps = runs(w, 'deploy')
    const test = steps.findIndex((r) => r === 'npm test')
    // `npm run deploy`: the deploy preflight, then `wrangler deploy --env production`; the
    // preflight also runs before the tests, to fail fast on a placeholder in wrangler.toml.
    const deploy = steps.findIndex((r) => r === 'npm run deploy')
    const preflight = steps.findIndex((r) => r === 'npx node scripts/deploy-preflight.ts')
    expect(preflight).toBeGreaterThan(steps.findIndex((r) => r.startsWith('npm ci')))
    expect(test).toBeGreaterThan(preflight)
    expect(deploy).toBeGreaterThan(test)
    expect(w.jobs.deploy!.steps[deploy]!.env).toMatchObject({ CLOUDFLARE_API_TOKEN: '${{ secrets.CLOUDFLARE_API_TOKEN }}' })
  })
})

describe('promote.yml', () => {
  it('is started by hand with version and percent, may mint OIDC tokens, and stores no admin token', () => {
    const w = loadWorkflow('promote.yml')
    const dispatch = (w.on as { workflow_dispatch: { inputs: Record<string, { required?: boolean }> } }).workflow_dispatch
    expect(dispatch.inputs.version?.required).toBe(true)
    expect(dispatch.inputs.percent?.required).toBe(true)
    expect(w.permissions).toEqual({ contents: 'read', 'id-token': 'write' })
    const mint = findStep(w, 'promote', 'Mint an OIDC token for the broker').run!
    expect(mint).toContain('$ACTIONS_ID_TOKEN_REQUEST_URL')
    expect(mint).toContain('$ACTIONS_ID_TOKEN_REQUEST_TOKEN')
    expect(findStep(w, 'promote', 'Promote').run).toContain('release promote "$VERSION" --percent "$PERCENT"')
    expect(workflowText('promote.yml')).not.toMatch(/secrets\./)
  })
})
