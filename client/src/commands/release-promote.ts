// `cco release promote VERSION [--percent N | --ramp 1,10,50,100 --every 6h] [--force] [--channel stable]`: points a channel
// (stable by default) at a version that is on beta.
import { PromoteRequestSchema, type AcceptedAnswer } from '../../../contract/api.ts'
import type { AppContext } from '../context.ts'
import { checkedBody, checkedRamp, checkedVersion, parsePercent } from '../release/arguments.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'

export interface ReleasePromoteOptions extends ReleaseConnectionOptions {
  channel: string
  percent?: string
  force: boolean
  /** `--ramp 1,10,50,100` with `--every 6h`: start at the first step, the broker moves on by schedule. */
  ramp?: string
  every?: string
}

export interface ChannelChangeResult {
  action: 'promote' | 'rollout' | 'halt' | 'resume' | 'guard'
  /** The channel as it is now, and whether the call changed it. */
  change: AcceptedAnswer<'ChannelChange'>
  /** The broker's answer as sent. */
  json: unknown
}

export async function releasePromoteCommand(app: AppContext, version: string, options: ReleasePromoteOptions): Promise<ChannelChangeResult> {
  const body = checkedBody(PromoteRequestSchema, {
    version: checkedVersion(version),
    ...(options.percent !== undefined ? { percent: parsePercent(options.percent) } : {}),
    ...(options.ramp !== undefined ? { ramp: checkedRamp(options.ramp, options.every) } : {}),
    ...(options.force ? { force: true } : {}),
  })
  return withAdminApi(app, options, async (api) => {
    const answer = await api.promote(options.channel, body)
    return { action: 'promote', change: answer.data, json: answer.raw }
  })
}
