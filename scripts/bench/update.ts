// `cco update --yes` of a large release archive from a loopback server, next to the shell
// equivalent on the same file: curl -o, sha256sum -c, tar xzf, mv.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseTrace, TRACE_FILE_ENV } from '../../client/src/update/trace.ts'
import { canonicalAssetName } from '../../contract/platform.ts'
import { currentPlatform } from '../../client/src/context.ts'
import { releaseTarGz } from '../../support/archives.ts'
import { makeHome } from '../../support/cco-home.ts'
import { childEnv } from '../../support/cco-process.ts'
import { clientBundle } from '../../support/client-bundles.ts'
import { startReleaseServer } from '../../support/release-server.ts'
import { createSigner, manifestPayload, sha256, signManifest } from '../../support/signed-manifest.ts'
import { median, type Figure } from './figures.ts'

// Asynchronous on purpose: the loopback server runs in this process.
const run = promisify(execFile)

/** User + system time of the finished children, from the second line of bash's `times` (`0m0.512s 0m0.120s`). */
function cpuOfChildren(timesOutput: string): number {
  const line = timesOutput.trim().split('\n').at(-1) ?? ''
  const ms = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000)
  if (ms.length !== 2) throw new Error(`unexpected output of bash times: ${JSON.stringify(timesOutput)}`)
  return ms[0]! + ms[1]!
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - t) / 1e6
}

/** A cco that updates itself in the bench: its file and the version it answers. */
export interface UpdatingCco {
  label: string
  path: string
  version: string
}

/**
 * `cco update --yes` of an archive of `mib` MiB, by the one-file bundle run by node (version
 * A) and, when given, by the single executable (`sea`): that is what users run, and its
 * previous binary, which the install hashes for its journal, is the whole executable
 * (about 120 MiB) instead of a 3 MiB bundle. Both against the same shell pipeline, runs interleaved.
 */
export async function benchUpdate(o: { mib: number; runs: number; sea?: { path: string; version: string } }, log: (line: string) => void): Promise<Figure[]> {
  const A = '2026.9.1'
  // Newer than any cco measured here, the single executable included.
  const B = '2099.1.1'
  const platform = currentPlatform()
  if (!platform) throw new Error(`no cco platform key for ${process.platform}/${process.arch}`)
  // The "binary": a tiny script that answers --version, padded with incompressible bytes so
  // the archive really is that large (the shell stops reading at `exit`).
  const binary = Buffer.concat([Buffer.from(`#!/bin/sh\necho "cco ${B}"\nexit 0\n`), randomBytes(o.mib * 1024 * 1024)])
  const archive = releaseTarGz(binary)
  const name = canonicalAssetName(B, platform)
  const server = await startReleaseServer()
  try {
    server.file(`/download/${name}`, archive)
    const signer = await createSigner('bench')
    const url = `${server.url}/download/${name}`
    const asset = { name, url, size: archive.length, sha256: sha256(archive) }
    server.manifest('stable', await signManifest(manifestPayload({ version: B, assets: { [platform]: asset } }), [signer]))
    const clients: UpdatingCco[] = [{ label: 'bundle run by node', path: await clientBundle({ version: A }), version: A }]
    if (o.sea) clients.push({ label: 'single executable', ...o.sea })
    log(`update: ${(archive.length / 1048576).toFixed(1)} MiB archive from ${server.url}, ${o.runs} runs each (${clients.map((c) => c.label).join(', ')})`)

    const runs = clients.map(() => ({ wall: [] as number[], cpu: [] as number[], steps: new Map<string, number[]>() }))
    const shellCpu: number[] = []
    const shell: number[] = []
    for (let i = 0; i < o.runs; i++) {
      for (const [c, client] of clients.entries()) {
        const r = runs[c]!
        const h = makeHome('cco-bench-')
        try {
          h.writeConfig({ server: server.url, keys: [signer.publicKey] })
          h.install(client.path)
          const traceFile = join(h.home, 'update-trace.log')
          // Through bash for its `times`: the CPU time of cco and its --version probes, which the
          // load of a shared machine changes far less than the wall-clock time.
          let out = ''
          r.wall.push(await time(async () => ({ stdout: out } = await run('bash', ['-c', '"$0" update --yes >/dev/null && times', h.installPath], { env: { ...childEnv(h.home), [TRACE_FILE_ENV]: traceFile } }))))
          r.cpu.push(cpuOfChildren(out))
          const run1 = new Map<string, number>()
          for (const { step, ms } of parseTrace(readFileSync(traceFile, 'utf8'))) run1.set(step, (run1.get(step) ?? 0) + ms)
          for (const [step, ms] of run1) r.steps.set(step, [...(r.steps.get(step) ?? []), ms])
          if (!readFileSync(h.installPath).equals(binary)) throw new Error(`cco update (${client.label}) did not install the archive`)
        } finally {
          h.cleanup()
        }
      }
      const dir = mkdtempSync(join(tmpdir(), 'cco-bench-shell-'))
      try {
        const script = [
          'set -e',
          `cd "${dir}"`,
          `curl -sS -o "${name}" "${url}"`,
          `echo "${sha256(archive)}  ${name}" | sha256sum -c --quiet`,
          `tar xzf "${name}" cco`,
          'mkdir -p bin && mv cco bin/cco',
          'times',
        ].join('\n')
        let out = ''
        shell.push(await time(async () => ({ stdout: out } = await run('bash', ['-c', script]))))
        shellCpu.push(cpuOfChildren(out))
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
    return clients.map((client, c) => {
      const r = runs[c]!
      // The breakdown: each step's median, the largest first; what the steps do not add up to is
      // the child's start (exec, before node's clock) and the pipe back to this process.
      const breakdown = [...r.steps].map(([step, ms]) => ({ step, ms: median(ms) })).sort((a, b) => b.ms - a.ms)
      const traced = breakdown.reduce((sum, s) => sum + s.ms, 0)
      log(`update breakdown, ${client.label} (median of ${o.runs} runs, ${median(r.wall).toFixed(0)} ms in all):`)
      for (const s of breakdown) log(`  ${s.step.padEnd(28)} ${s.ms.toFixed(1).padStart(7)} ms`)
      log(`  ${'outside the trace'.padEnd(28)} ${(median(r.wall) - traced).toFixed(1).padStart(7)} ms`)
      log(`  CPU time (user + sys, median): cco ${median(r.cpu).toFixed(0)} ms, shell pipeline ${median(shellCpu).toFixed(0)} ms (${(median(r.cpu) / median(shellCpu)).toFixed(2)}×)`)
      const top = breakdown[0]
      const what = c === 0 ? '' : `, ${client.label} replacing itself`
      return {
        name: `cco update --yes, ${o.mib} MiB archive${what} (median)`,
        value: median(r.wall),
        samples: r.wall,
        unit: 'ms',
        baseline: { name: 'curl -o + sha256sum -c + tar xzf + mv', value: median(shell), samples: shell },
        better: 'lower',
        note: `includes manifest verification, --version probes, backup, fsyncs; largest step: ${top ? `${top.step} ${top.ms.toFixed(0)} ms` : 'no trace'}`,
      } satisfies Figure
    })
  } finally {
    await server.close()
  }
}
