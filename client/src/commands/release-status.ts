// `cco release status`: every channel (version, seq, rollout, halted, expiry) and the latest
// releases, from the broker's public listings; no token needed.
import type { AcceptedAnswer } from '../../../contract/api.ts'
import type { AppContext } from '../context.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'

export interface ReleaseStatusOptions extends ReleaseConnectionOptions {
  /** How many of the newest releases the table shows (`--json` always has all). */
  releases: number
}

export interface ReleaseStatus {
  server: string
  channels: AcceptedAnswer<'ChannelSummary'>[]
  releases: AcceptedAnswer<'ReleaseView'>[]
  /** How many releases the table shows. */
  shown: number
  /** The broker's two answers merged: `{server, channels, releases}`. */
  json: unknown
}

export async function releaseStatusCommand(app: AppContext, options: ReleaseStatusOptions): Promise<ReleaseStatus> {
  return withAdminApi(app, options, async (api) => {
    const [channels, releases] = await Promise.all([api.channels(), api.releases()])
    return {
      server: api.server,
      channels: channels.data,
      releases: releases.data,
      shown: Math.min(options.releases, releases.data.length),
      json: { server: api.server, ...(channels.raw as object), ...(releases.raw as object) },
    }
  })
}
