// Differential assets at ingest (contract/README.md, "Block maps and chunk packs"): which
// uploaded assets are the block map and chunk pack of a chosen archive, which asset names the
// asset routes may look up, and whether a fetched block map is the one the release describes.
// Pure: the Durable Object's alarm downloads the block map and passes its bytes and sha256 in.
import { BlockMapSchema, deltaAssetNames } from '../../contract/blockmap.ts'
import { firstIssueInWords } from '../../contract/issues.ts'
import { platformsForAssetName, type Platform } from '../../contract/platform.ts'
import { sameVersion } from '../../contract/version.ts'
import { quote } from './control-chars.ts'

/** A block map as the alarm downloaded it: its bytes and their sha256 (hex). */
export interface FetchedBlockMap {
  sha256: string
  bytes: Uint8Array
}

/** What a block map must agree with: the release, the platform keys its archive stands for, the recorded pack. */
export interface BlockMapExpectation {
  name: string
  sha256: string
  version: string
  platforms: readonly Platform[]
  pack: { name: string; size: number; sha256: string }
}

export type BlockMapCheck = { ok: true; binary: { size: number; sha256: string } } | { ok: false; problem: string }

/** The block map and pack uploaded for an archive: both, one of them (`missing` names the other), or neither. */
export function deltaAssetsFor<T extends { name: string }>(archiveName: string, uploaded: readonly T[]): { kind: 'none' } | { kind: 'both'; blockmap: T; pack: T } | { kind: 'one'; present: T; missing: string } {
  const names = deltaAssetNames(archiveName)
  if (!names) return { kind: 'none' }
  const blockmap = uploaded.find((a) => a.name === names.blockmap)
  const pack = uploaded.find((a) => a.name === names.pack)
  if (blockmap && pack) return { kind: 'both', blockmap, pack }
  if (blockmap) return { kind: 'one', present: blockmap, missing: names.pack }
  if (pack) return { kind: 'one', present: pack, missing: names.blockmap }
  return { kind: 'none' }
}

/**
 * Whether a name can be a recorded asset: a platform archive, or the block map or pack of a
 * name that would be one. Lets the asset routes answer anything else without asking the object.
 */
export function mayBeRecordedAssetName(name: string): boolean {
  if (platformsForAssetName(name).length > 0) return true
  const m = /^(.+)\.(?:blockmap\.json|chunks)$/.exec(name)
  return m !== null && platformsForAssetName(`${m[1]}.tar.gz`).length > 0
}

/**
 * Whether a fetched block map is the one the release describes: the bytes have the recorded
 * sha256, they are a valid block map (the contract's schema, consistency included), and it
 * names this version, a platform its archive stands for, and exactly the recorded pack. Its
 * `binary` is what the manifest then carries.
 */
export function checkBlockMap(fetched: FetchedBlockMap, expected: BlockMapExpectation): BlockMapCheck {
  const file = `block map ${JSON.stringify(expected.name)}`
  if (fetched.sha256 !== expected.sha256) return { ok: false, problem: `${file}: sha256 mismatch (got ${fetched.sha256}, expected ${expected.sha256})` }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(fetched.bytes))
  } catch {
    return { ok: false, problem: `${file} is not UTF-8 JSON` }
  }
  const parsed = BlockMapSchema.safeParse(json, { reportInput: true })
  if (!parsed.success) return { ok: false, problem: `${file}: ${firstIssueInWords(parsed.error)}` }
  const map = parsed.data
  // The file's own strings are quoted with `quote`: unlike the release's fields (screened at
  // ingest) nothing screened them, and JSON.stringify leaves C1 controls and U+2028 raw.
  if (!sameVersion(map.version, expected.version)) return { ok: false, problem: `${file} describes version ${quote(map.version)}, not ${expected.version}` }
  if (!(expected.platforms as readonly string[]).includes(map.platform)) {
    return { ok: false, problem: `${file} describes platform ${quote(map.platform)}, not ${expected.platforms.join(' or ')}` }
  }
  const pack = expected.pack
  if (map.pack.name !== pack.name) return { ok: false, problem: `${file} names the pack ${quote(map.pack.name)}, not ${JSON.stringify(pack.name)}` }
  if (map.pack.size !== pack.size) return { ok: false, problem: `${file} gives the pack ${JSON.stringify(pack.name)} ${map.pack.size} bytes, the release's has ${pack.size}` }
  if (map.pack.sha256 !== pack.sha256) return { ok: false, problem: `${file} gives the pack ${JSON.stringify(pack.name)} sha256 ${map.pack.sha256}, the release's is ${pack.sha256}` }
  return { ok: true, binary: { size: map.binary.size, sha256: map.binary.sha256 } }
}
