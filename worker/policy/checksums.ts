// Release checksums files (`sha256sum` output): which asset is one, and the digest a file
// lists for an asset name. Pure text handling; fetching lives in the Durable Object.

/** Checksums files are read only up to this size; a bigger one is refused. */
export const CHECKSUMS_MAX_BYTES = 1024 * 1024

const CHECKSUMS_NAME = /^(?:checksums\.txt|sha256sums|checksums\.sha256|.+[-_]checksums\.txt)$/i

export function isChecksumsFileName(name: string): boolean {
  return CHECKSUMS_NAME.test(name)
}

/** The checksums file among a release's asset names: `checksums.txt` first, else the first by name. */
export function pickChecksumsFile<T extends { name: string }>(assets: readonly T[]): T | undefined {
  const candidates = assets.filter((a) => isChecksumsFileName(a.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return candidates.find((a) => a.name.toLowerCase() === 'checksums.txt') ?? candidates[0]
}

// `<64 hex><space><space or *><name>`; `*` marks binary mode. Names may carry a `./` prefix.
const LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/

/** File name → lowercase sha256 hex, from `sha256sum` text. Unparseable lines are skipped. */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const rawLine of text.split(/\r?\n/)) {
    const m = LINE.exec(rawLine.trim() === '' ? '' : rawLine.replace(/\s+$/, ''))
    if (!m) continue
    const name = m[2]!.replace(/^\.\//, '')
    // A name listed twice with different digests is ambiguous: neither line is trusted.
    const hex = m[1]!.toLowerCase()
    const seen = out.get(name)
    out.set(name, seen === undefined || seen === hex ? hex : '')
  }
  for (const [name, hex] of out) if (hex === '') out.delete(name)
  return out
}

/** `sha256:<hex>` → lowercase hex; null for any other algorithm or a malformed value. */
export function sha256FromDigest(digest: string | null | undefined): string | null {
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(digest ?? '')
  return m ? m[1]!.toLowerCase() : null
}
