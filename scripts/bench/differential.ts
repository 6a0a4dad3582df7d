// Differential updates end to end: two real release builds of this platform, A and B, whose
// code differs (B carries a few KiB more of it) on the same Node runtime; the real broker
// (`wrangler dev`) and the stand-in for GitHub's download host; B announced with its block map
// and chunk pack. Then `cco update --yes` A → B on a fresh host, differential and `--full`,
// interleaved, with the bytes each took counted from the download host's request log.
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { announceRelease } from '../../support/announce-release.ts'
import { startBroker, type DevBroker } from '../../support/broker.ts'
import { makeHome } from '../../support/cco-home.ts'
import { childEnv } from '../../support/cco-process.ts'
import { freePort } from '../../support/ports.ts'
import { startReleaseServer, type LoggedRequest, type ReleaseServer } from '../../support/release-server.ts'
import { generateDevSecrets } from '../lib/dev-secrets.ts'
import { buildRelease } from '../lib/release-build.ts'
import { defaultCacheDir, hostPlatform } from '../lib/sea.ts'
import { median, type Figure } from './figures.ts'

const run = promisify(execFile)
const A = '2026.10.1'
const B = '2026.10.2'
const MiB = 2 ** 20


/**
 * What B adds to cco's code: ~5 KiB of real functions (defined, never called), as a release
 * that fixes a few things would. Appended to the bundle, so the code cache changes with it.
 */
function extraCode(): string {
  const fns = Array.from(
    { length: 20 },
    (_, i) =>
      `function ccoBench${i}(items, limit) { const out = []; for (const item of items) { if (out.length >= limit) break; ` +
      `if (typeof item === 'string' && item.length > ${i}) out.push(item.slice(0, ${i + 8}).toUpperCase()); else out.push(String(item)); } return out.join(',') }`,
  )
  return `;(function ccoBenchExtra() {\n${fns.join('\n')}\nreturn [${fns.map((_, i) => `ccoBench${i}`).join(', ')}]\n});\n`
}

interface UpdateRun {
  ms: number
  /** Body bytes the download host sent for this update, and how. */
  bytes: number
  blockmapBytes: number
  rangeRequests: number
  rangeBytes: number
  archiveBytes: number
  requests: number
  /** What the client said it downloaded (`installed.download` of `--json`). */
  reported: { bytes: number; differential: boolean }
}

export async function benchDifferential(o: { runs: number }, log: (line: string) => void): Promise<Figure[]> {
  const platform = hostPlatform()
  if (!platform) throw new Error(`no release build for ${process.platform}/${process.arch}`)
  const work = mkdtempSync(join(tmpdir(), 'cco-bench-differential-'))
  let broker: DevBroker | undefined
  let downloads: ReleaseServer | undefined
  try {
    // The broker's address and key are built into the binaries, so they come first.
    const [port, secrets] = await Promise.all([freePort(), generateDevSecrets()])
    const brokerStarting = startBroker({ port, secrets, vars: { ASSET_HOSTS: '127.0.0.1' } })
    brokerStarting.catch(() => {})
    const common = { platforms: [platform], server: `http://127.0.0.1:${port}`, trustKeys: [secrets.publicKey], cacheDir: defaultCacheDir() }
    log(`differential: building ${A} and ${B} for ${platform} (B with ${extraCode().length} bytes more code)`)
    const buildA = await buildRelease({ ...common, version: A, outDir: join(work, 'a') })
    const buildB = await buildRelease({ ...common, version: B, outDir: join(work, 'b'), extraCode: extraCode() })
    broker = await brokerStarting
    downloads = await startReleaseServer()
    const archiveA = buildA.artifacts[0]!.archive
    const b = buildB.artifacts[0]!
    const binaryB = join(work, 'b-binary')
    mkdirSync(binaryB)
    execFileSync('tar', ['-xzf', b.archive, '-C', binaryB])
    const newBinary = readFileSync(join(binaryB, 'cco'))

    // GitHub's side: B with its archive, block map and chunk pack (GitHub's digests); stable
    // moves to B. A host starts from A as a first install leaves it (the archive unpacked).
    const announced = await announceRelease(broker, downloads, { version: B, binary: join(binaryB, 'cco'), archive: b.archive, platform, delta: true })
    if (!announced.hook.ok) throw new Error(`the broker refused B's webhook: HTTP ${announced.hook.status} ${await announced.hook.text()}`)
    await waitLive(broker, B)
    const delta = announced.delta!
    log(`differential: B's archive ${(b.archiveBytes / MiB).toFixed(1)} MiB, block map ${(delta.blockmap.length / 1024).toFixed(0)} KiB, pack ${(delta.pack.length / MiB).toFixed(1)} MiB, ${delta.map.chunks.length} chunks`)

    const hostWithA = () => {
      const h = makeHome('cco-bench-differential-')
      mkdirSync(h.binDir, { recursive: true })
      execFileSync('tar', ['-xzf', archiveA, '-C', h.binDir])
      return h
    }
    {
      const h = hostWithA()
      try {
        await run(h.installPath, ['release', 'promote', B], { env: childEnv(h.home, { CCO_ADMIN_TOKEN: broker.adminToken }) })
      } finally {
        h.cleanup()
      }
    }

    const update = async (full: boolean): Promise<UpdateRun> => {
      const h = hostWithA()
      try {
        const before = downloads!.requests.length
        const t = process.hrtime.bigint()
        const { stdout } = await run(h.installPath, ['update', '--yes', '--json', ...(full ? ['--full'] : [])], { env: childEnv(h.home), maxBuffer: 16 * MiB })
        const ms = Number(process.hrtime.bigint() - t) / 1e6
        if (!readFileSync(h.installPath).equals(newBinary)) throw new Error(`cco update${full ? ' --full' : ''} did not install B`)
        const download = (JSON.parse(stdout) as { installed?: { download?: { bytes: number; differential: boolean } } }).installed?.download
        if (!download) throw new Error(`cco update --json reported no download: ${stdout.slice(0, 500)}`)
        if (download.differential === full) throw new Error(`cco update${full ? ' --full' : ''} was ${download.differential ? '' : 'not '}differential (see its stderr with CCO_TRACE_FILE)`)
        return account(downloads!.requests.slice(before), ms, download, { blockmap: delta.blockmapPath, pack: delta.packPath, archive: announced.downloadPath })
      } finally {
        h.cleanup()
      }
    }
    const differential: UpdateRun[] = []
    const full: UpdateRun[] = []
    for (let i = 0; i < o.runs; i++) {
      differential.push(await update(false))
      full.push(await update(true))
    }

    const d = differential[0]!
    const f = full[0]!
    log(
      `differential: A→B downloaded ${(d.bytes / MiB).toFixed(2)} MiB in ${d.requests} requests: block map ${(d.blockmapBytes / 1024).toFixed(0)} KiB, ` +
        `${d.rangeRequests} ranges of the pack ${(d.rangeBytes / MiB).toFixed(2)} MiB${d.archiveBytes ? `, archive ${(d.archiveBytes / MiB).toFixed(1)} MiB` : ''} (cco says ${(d.reported.bytes / MiB).toFixed(2)} MiB)`,
    )
    log(`differential: --full downloaded ${(f.bytes / MiB).toFixed(2)} MiB in ${f.requests} requests (cco says ${(f.reported.bytes / MiB).toFixed(2)} MiB)`)
    const bytes = differential.map((r) => r.bytes / MiB)
    return [
      {
        name: 'bytes downloaded A→B, differential',
        value: median(bytes),
        samples: bytes,
        unit: 'MiB',
        baseline: { name: 'the full archive', value: b.archiveBytes / MiB },
        better: 'lower',
        target: { ratio: 0.1, better: 'lower' },
        note: `block map ${(d.blockmapBytes / 1024).toFixed(0)} KiB + ${d.rangeRequests} pack ranges ${(d.rangeBytes / MiB).toFixed(2)} MiB, ${d.requests} requests to the download host; B has ${extraCode().length} bytes more code`,
      },
      {
        name: 'cco update --yes A→B, differential (median)',
        value: median(differential.map((r) => r.ms)),
        samples: differential.map((r) => r.ms),
        unit: 'ms',
        baseline: { name: 'cco update --yes --full A→B, full archive (median)', value: median(full.map((r) => r.ms)), samples: full.map((r) => r.ms) },
        better: 'lower',
        note: `loopback download host: the time saved on a real network is the ${((f.bytes - d.bytes) / MiB).toFixed(1)} MiB not downloaded`,
      },
    ]
  } finally {
    await broker?.stop()
    await downloads?.close()
    rmSync(work, { recursive: true, force: true })
  }
}

/** The bytes of one update from the download host's log, by what they were. */
function account(requests: LoggedRequest[], ms: number, reported: UpdateRun['reported'], paths: { blockmap: string; pack: string; archive: string }): UpdateRun {
  const r: UpdateRun = { ms, bytes: 0, blockmapBytes: 0, rangeRequests: 0, rangeBytes: 0, archiveBytes: 0, requests: requests.length, reported }
  for (const q of requests) {
    const n = q.bytes ?? 0
    r.bytes += n
    if (q.path === paths.blockmap) r.blockmapBytes += n
    else if (q.path === paths.pack) {
      r.rangeRequests += q.range ? 1 : 0
      r.rangeBytes += n
    } else if (q.path === paths.archive) r.archiveBytes += n
  }
  return r
}

/** Waits until the broker has checked B's block map and made the release live. */
async function waitLive(broker: DevBroker, version: string): Promise<void> {
  let status = ''
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${broker.url}/v1/releases/${version}`)
    status = res.ok ? ((await res.json()) as { status: string }).status : `HTTP ${res.status}`
    if (status === 'live') return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`release ${version} is ${status}, not live, after 30 s:\n${broker.output().slice(-2000)}`)
}
