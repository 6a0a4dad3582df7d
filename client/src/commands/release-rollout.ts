// `cco release rollout PERCENT`, `halt --reason R` and `resume` (each `[--channel C]`, stable
// by default): change how a channel's version reaches hosts, without changing the version.
import { HaltRequestSchema, RolloutRequestSchema } from '../../../contract/api.ts'
import type { AppContext } from '../context.ts'
import { checkedBody, parsePercent } from '../release/arguments.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'
import type { ChannelChangeResult } from './release-promote.ts'

export interface ReleaseChannelOptions extends ReleaseConnectionOptions {
  channel: string
}

export async function releaseRolloutCommand(app: AppContext, percent: string, options: ReleaseChannelOptions): Promise<ChannelChangeResult> {
  const body = checkedBody(RolloutRequestSchema, { percent: parsePercent(percent) })
  return withAdminApi(app, options, async (api) => {
    const answer = await api.rollout(options.channel, body)
    return { action: 'rollout', change: answer.data, json: answer.raw }
  })
}

export async function releaseHaltCommand(app: AppContext, options: ReleaseChannelOptions & { reason: string }): Promise<ChannelChangeResult> {
  const body = checkedBody(HaltRequestSchema, { reason: options.reason.trim() }, '--reason')
  return withAdminApi(app, options, async (api) => {
    const answer = await api.halt(options.channel, body)
    return { action: 'halt', change: answer.data, json: answer.raw }
  })
}

export async function releaseResumeCommand(app: AppContext, options: ReleaseChannelOptions): Promise<ChannelChangeResult> {
  return withAdminApi(app, options, async (api) => {
    const answer = await api.resume(options.channel)
    return { action: 'resume', change: answer.data, json: answer.raw }
  })
}
