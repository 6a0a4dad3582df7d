// The GitHub workflows parse, run what the release process needs in the right order, keep
// untrusted values out of shell scripts, and their shell steps behave when run here.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isVersion } from '../../contract/version.ts'
import { REPO_ROOT } from '../../support/cco-process.ts'
import { findStep, loadWorkflow, matrixTests, runStep, workflowText, type Workflow } from '../support/release-workflows.ts'

const FILES = ['release.yml', 'deploy.yml', 'promote.yml', 'cross-platform.yml']

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

describe('release.yml: the container image', () => {
  const w = loadWorkflow('release.yml')
  const image = w.jobs.image!
  const uses = (prefix: string) => image.steps.findIndex((s) => s.uses?.startsWith(prefix))

  it('is pushed once the release is published, to ghcr.io with the job token, which may write packages', () => {
    expect(image.needs).toEqual(['build', 'publish'])
    expect(image.permissions).toEqual({ contents: 'read', packages: 'write' })
    const download = image.steps[uses('actions/download-artifact@')]
    expect(download?.with).toEqual({ name: 'release', path: 'release' })
    const login = image.steps[uses('docker/login-action@')]
    expect(login?.with).toEqual({ registry: 'ghcr.io', username: '${{ github.actor }}', password: '${{ secrets.GITHUB_TOKEN }}' })
    const order = [uses('actions/checkout@'), uses('actions/download-artifact@'), image.steps.findIndex((s) => s.name === 'Prepare the build context'), uses('docker/login-action@'), uses('docker/build-push-action@')]
    expect(order.every((i) => i >= 0)).toBe(true)
    expect(order).toEqual([...order].sort((a, b) => a - b))
  })

  it('builds packaging/container with the release version and tags the image with that version and beta', () => {
    const push = image.steps[uses('docker/build-push-action@')]!.with!
    expect(push).toMatchObject({ context: 'packaging/container', push: true, platforms: 'linux/amd64' })
    // The same version as the archives: the build job's output, read from the tag.
    expect(push['build-args']).toBe('VERSION=${{ needs.build.outputs.version }}')
    expect(findStep(w, 'image', 'Prepare the build context').env).toMatchObject({ VERSION: '${{ needs.build.outputs.version }}' })
    expect(w.jobs.build!.outputs!.version).toBe('${{ steps.version.outputs.version }}')
    expect(String(push.tags).trim().split('\n')).toEqual(['${{ steps.image.outputs.name }}:${{ steps.image.outputs.tag }}', '${{ steps.image.outputs.name }}:beta'])
    // The Dockerfile takes that archive from its context.
    const dockerfile = readFileSync(join(REPO_ROOT, 'packaging/container/Dockerfile'), 'utf8')
    expect(dockerfile).toMatch(/^ARG VERSION$/m)
    expect(dockerfile).toMatch(/^ARG PLATFORM=linux-x86_64$/m)
    expect(dockerfile).toContain('ADD cco-${VERSION}-${PLATFORM}.tar.gz /usr/local/bin/')
  })

  async function prepare(version: string, o: { owner?: string; corrupt?: boolean } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'cco-image-step-'))
    try {
      mkdirSync(join(dir, 'release'))
      mkdirSync(join(dir, 'packaging/container'), { recursive: true })
      const archive = `cco-${version}-linux-x86_64.tar.gz`
      writeFileSync(join(dir, 'release', archive), 'the archive')
      const sum = createHash('sha256').update('the archive').digest('hex')
      writeFileSync(join(dir, 'release/checksums.txt'), `${sum}  ${archive}\n`)
      if (o.corrupt) writeFileSync(join(dir, 'release', archive), 'another archive')
      const r = await runStep(findStep(w, 'image', 'Prepare the build context'), { VERSION: version, OWNER: o.owner ?? 'acme' }, { cwd: dir })
      return { ...r, copied: existsSync(join(dir, 'packaging/container', archive)) }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  it.each([
    ['2026.11.3', 'Acme-Corp', 'ghcr.io/acme-corp/cco', '2026.11.3'],
    ['2026.11.3-beta.1', 'acme', 'ghcr.io/acme/cco', '2026.11.3-beta.1'],
    // A tag may not hold `+`: the build suffix is kept with `_`.
    ['2025.11.2+ac4de7d', 'acme', 'ghcr.io/acme/cco', '2025.11.2_ac4de7d'],
  ])('tags release %s of owner %s as %s:%s, from the checked archive', async (version, owner, name, tag) => {
    const r = await prepare(version, { owner })
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.githubOutput).toEqual({ name, tag })
    expect(r.copied).toBe(true)
  })

  it('refuses an archive that does not match checksums.txt', async () => {
    const r = await prepare('2026.11.3', { corrupt: true })
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain('FAILED')
    expect(r.copied).toBe(false)
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

describe('cross-platform.yml', () => {
  const w = loadWorkflow('cross-platform.yml')
  const job = w.jobs.client!
  const OSES = ['windows-latest', 'macos-latest']

  it('runs on every push, on windows-latest and macos-latest, in bash on both', () => {
    expect(w.on).toEqual({ push: null })
    expect(job['runs-on']).toBe('${{ matrix.os }}')
    expect(job.strategy?.matrix.include?.map((e) => e.os)).toEqual(OSES)
    expect(job.strategy?.['fail-fast']).toBe(false)
    // The Windows runner's default shell is pwsh; the script below is bash.
    expect(job.defaults?.run?.shell).toBe('bash')
  })

  it('checks out, installs Node 22 and the locked dependencies, then runs the listed test files', () => {
    const order = ['actions/checkout@', 'actions/setup-node@'].map((p) => job.steps.findIndex((s) => s.uses?.startsWith(p)))
    const ci = job.steps.findIndex((s) => s.run?.startsWith('npm ci'))
    const tests = job.steps.findIndex((s) => s.name === 'Client tests')
    expect([...order, ci, tests].every((i) => i >= 0)).toBe(true)
    expect([...order, ci, tests]).toEqual([...order, ci, tests].sort((a, b) => a - b))
    expect(job.steps[order[1]!]!.with).toMatchObject({ 'node-version': 22 })
    expect(findStep(w, 'client', 'Client tests').env).toEqual({ TESTS: '${{ matrix.tests }}' })
  })

  it.each(OSES)('on %s: lists existing test files, a real self-update among them, none that assumes Linux', (os) => {
    const files = matrixTests(w, 'client', os)
    expect(files).toContain('test/e2e/sea-self-update.test.ts')
    for (const f of files) {
      expect(existsSync(join(REPO_ROOT, f)), f).toBe(true)
      const text = readFileSync(join(REPO_ROOT, f), 'utf8')
      for (const linuxOnly of ['/proc/', 'tinyproxy', 'systemctl', 'startBroker']) expect(text, `${f} uses ${linuxOnly}`).not.toContain(linuxOnly)
      // Fake binaries that are sh scripts (the foreign file-system layer's) run on macOS only.
      if (os === 'windows-latest') expect(text, f).not.toMatch(/foreign-fs|#!\/bin\/sh/)
    }
    if (os === 'macos-latest') expect(files).toEqual(expect.arrayContaining(['test/client/windows-install.test.ts', 'test/client/macos-install.test.ts']))
  })

  it.each(OSES)('on %s: the step hands vitest one argument per test file', async (os) => {
    const dir = mkdtempSync(join(tmpdir(), 'cco-npx-'))
    try {
      // A stand-in npx that records its arguments, one per line.
      writeFileSync(join(dir, 'npx'), '#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_FILE"\n', { mode: 0o755 })
      const tests = w.jobs.client!.strategy!.matrix.include!.find((e) => e.os === os)!.tests!
      const r = await runStep(findStep(w, 'client', 'Client tests'), { TESTS: tests, ARGS_FILE: join(dir, 'args'), PATH: `${dir}:/usr/bin:/bin` })
      expect(r.code, r.stderr).toBe(0)
      expect(readFileSync(join(dir, 'args'), 'utf8').trim().split('\n')).toEqual(['vitest', 'run', '--project', 'node', ...matrixTests(w, 'client', os)])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
