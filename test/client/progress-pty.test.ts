// The download progress bar as a user sees it, through a real pseudo-terminal (util-linux
// `script`): drawn on a terminal with bytes, percent and speed, also with NO_COLOR (which turns
// off colour, not the bar); never without a terminal or with --quiet.
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCco, show, type CcoRun } from '../../support/cco-process.ts'
import type { CcoHome } from '../../support/cco-home.ts'
import { startUpdateFixture, VERSION_B, type UpdateFixture } from '../support/update-fixture.ts'

const SCRIPT = '/usr/bin/script'
const hasScript = existsSync(SCRIPT)
if (!hasScript) console.warn('progress-pty tests skipped: util-linux `script` is not installed')

// `  cco-….tar.gz [████░░░] 40% | 12.0/30.1 MiB | 3.2 MiB/s | ETA: 5s`
const BAR = /\[[\u2588\u2591]+\] \d{1,3}% \| \d+\.\d\/\d+\.\d MiB \| \d+(\.\d)? (B|KiB|MiB|GiB)\/s \|/
const MOVING = /\[[\u2588\u2591]+\] \d{1,3}% \| \d+\.\d\/\d+\.\d MiB \| (?!0 B\/s)\d+(\.\d)? (B|KiB|MiB|GiB)\/s \|/
// Select Graphic Rendition: what colours, bold and underline are made of.
const SGR = /\x1b\[[0-9;:]*m/

let fx: UpdateFixture
beforeAll(async () => {
  fx = await startUpdateFixture()
}, 60_000)
afterAll(() => fx.close())

/** `cco args…` on a terminal 160 columns wide; stdout and stderr both arrive through it. */
function onTerminal(h: CcoHome, args: string[], env: Record<string, string> = {}): Promise<CcoRun> {
  const command = `stty cols 160 rows 40; exec ${h.installPath} ${args.join(' ')}`
  return runCco(SCRIPT, ['-qfec', command, '/dev/null'], { home: h.home, env: { TERM: 'xterm-256color', ...env }, timeoutMs: 60_000 })
}

/** A host with version A and a slow download of B, so the bar redraws while bytes arrive. */
async function slowUpdate(): Promise<CcoHome> {
  await fx.publish({ version: VERSION_B, slowMs: 1500 })
  return fx.host()
}

describe.skipIf(!hasScript)('the progress bar', () => {
  it('is drawn on a terminal with NO_COLOR, with bytes, percent and speed, and without colour', async () => {
    const h = await slowUpdate()
    const r = await onTerminal(h, ['update', '--yes'], { NO_COLOR: '1' })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`Successfully updated to ${VERSION_B}`)
    expect(r.stdout).toMatch(BAR)
    expect(r.stdout).toMatch(MOVING)
    expect(r.stdout).not.toMatch(SGR)
  })

  it('is drawn on a terminal without NO_COLOR too', async () => {
    const h = await slowUpdate()
    const r = await onTerminal(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toMatch(BAR)
  })

  it('is not drawn with --quiet', async () => {
    const h = await slowUpdate()
    const r = await onTerminal(h, ['update', '--yes', '--quiet'], { NO_COLOR: '1' })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`Successfully updated to ${VERSION_B}`)
    expect(r.stdout).not.toMatch(/\d%/)
    expect(r.stdout).not.toContain('\x1b[')
  })

  it('is not drawn without a terminal', async () => {
    const h = await slowUpdate()
    const r = await fx.run(h, ['update', '--yes'])
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`Successfully updated to ${VERSION_B}`)
    expect(r.stderr).not.toMatch(/\d%|\/s/)
    expect(r.stderr).not.toContain('\x1b[')
  })

  it('is not drawn on a dumb terminal', async () => {
    const h = await slowUpdate()
    const r = await onTerminal(h, ['update', '--yes'], { TERM: 'dumb' })
    expect(r.code, show(r)).toBe(0)
    expect(r.stdout).toContain(`Successfully updated to ${VERSION_B}`)
    expect(r.stdout).not.toMatch(/\d%/)
  })
})
