// The repository's GitHub workflows as data, and a way to run one step's shell script here
// the way a runner does (`bash --noprofile --norc -eo pipefail`), with the env a job gives it.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO_ROOT } from '../../support/cco-process.ts'

export interface WorkflowStep {
  name?: string
  uses?: string
  run?: string
  env?: Record<string, string>
  with?: Record<string, unknown>
  id?: string
}

export interface Workflow {
  name: string
  on: Record<string, unknown>
  permissions?: Record<string, string>
  jobs: Record<
    string,
    {
      'runs-on': string
      needs?: string | string[]
      permissions?: Record<string, string>
      steps: WorkflowStep[]
      outputs?: Record<string, string>
      strategy?: { 'fail-fast'?: boolean; matrix: { include?: Record<string, string>[] } & Record<string, unknown> }
      defaults?: { run?: { shell?: string } }
    }
  >
}

export const WORKFLOW_DIR = join(REPO_ROOT, '.github', 'workflows')

export function workflowText(file: string): string {
  return readFileSync(join(WORKFLOW_DIR, file), 'utf8')
}

export function loadWorkflow(file: string): Workflow {
  return parse(workflowText(file), { strict: true, uniqueKeys: true }) as Workflow
}

export function findStep(w: Workflow, job: string, name: string): WorkflowStep {
  const step = w.jobs[job]?.steps.find((s) => s.name === name)
  if (!step?.run) throw new Error(`no step ${JSON.stringify(name)} with a run script in job ${job}`)
  return step
}

export interface StepRun {
  code: number | null
  stdout: string
  stderr: string
  /** What the step appended to $GITHUB_ENV and $GITHUB_OUTPUT, as NAME → value. */
  githubEnv: Record<string, string>
  githubOutput: Record<string, string>
}

const parseKv = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  )

/**
 * Runs a step's script with `env` (the step's own `env:` values must be given resolved), in
 * `cwd` (the checkout; default the current directory) when the step works on files.
 */
export async function runStep(step: WorkflowStep, env: Record<string, string>, options: { cwd?: string } = {}): Promise<StepRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cco-step-'))
  try {
    const script = join(dir, 'step.sh')
    const githubEnv = join(dir, 'github-env')
    const githubOutput = join(dir, 'github-output')
    writeFileSync(script, step.run!)
    writeFileSync(githubEnv, '')
    writeFileSync(githubOutput, '')
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GITHUB_ENV: githubEnv, GITHUB_OUTPUT: githubOutput, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: options.cwd,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const code = await new Promise<number | null>((r) => child.on('close', r))
    return { code, stdout, stderr, githubEnv: parseKv(readFileSync(githubEnv, 'utf8')), githubOutput: parseKv(readFileSync(githubOutput, 'utf8')) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The test files of one matrix entry (`tests:`, one path per word). */
export function matrixTests(w: Workflow, job: string, os: string): string[] {
  const entry = w.jobs[job]?.strategy?.matrix.include?.find((e) => e.os === os)
  if (!entry) throw new Error(`no matrix entry for ${os} in job ${job}`)
  return (entry.tests ?? '').split(/\s+/).filter(Boolean)
}
