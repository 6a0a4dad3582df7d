// What an install downloaded: the bytes that crossed the network (block map and chunk ranges,
// or the whole archive) and whether the binary was reassembled from chunks. Fleet reports
// carry it, so that `cco release fleet` can show what differential updates saved.
export interface Transfer {
  /** Bytes received over the network for this install (every attempt, fallback included). */
  bytes: number
  /** The binary was reassembled from the installed one and fetched chunks. */
  differential: boolean
  /** The archive's size: what a full download costs. */
  archiveBytes: number
}
