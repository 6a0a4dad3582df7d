// `cco release rollout PERCENT | --ramp 1,10,50,100 --every 6h`, `halt --reason R`, `resume` and
// `guard --min-failures N --min-failure-percent P` (each `[--channel C]`, stable by default):
// change how a channel's version reaches hosts, without changing the version.
import { GuardRequestSchema, HaltRequestSchema, RolloutRequestSchema } from '../../../contract/api.ts'
import type { AppContext } from '../context.ts'
import { checkedBody, checkedRamp, parsePercent, parseShare, parseWhole } from '../release/arguments.ts'
import { UsageError } from '../errors.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'
import type { ChannelChangeResult } from './release-promote.ts'

export interface ReleaseChannelOptions extends ReleaseConnectionOptions {
  channel: string
}

export async function releaseRolloutCommand(app: AppContext, percent: string | undefined, options: ReleaseChannelOptions & { ramp?: string; every?: string }): Promise<ChannelChangeResult> {
  if (percent === undefined && options.ramp === undefined) throw new UsageError('give a percent, or --ramp with --every')
  if (percent !== undefined && options.ramp !== undefined) throw new UsageError('give a percent or --ramp, not both')
  const body = checkedBody(RolloutRequestSchema, options.ramp !== undefined ? { ramp: checkedRamp(options.ramp, options.every) } : { percent: parsePercent(percent!) })
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

export async function releaseGuardCommand(
  app: AppContext,
  options: ReleaseChannelOptions & { minFailures?: string; minFailurePercent?: string },
): Promise<ChannelChangeResult> {
  if (options.minFailures === undefined && options.minFailurePercent === undefined) throw new UsageError('give --min-failures, --min-failure-percent or both')
  const body = checkedBody(GuardRequestSchema, {
    ...(options.minFailures !== undefined ? { min_failures: parseWhole(options.minFailures, '--min-failures') } : {}),
    ...(options.minFailurePercent !== undefined ? { min_failure_percent: parseShare(options.minFailurePercent, '--min-failure-percent') } : {}),
  })
  return withAdminApi(app, options, async (api) => {
    const answer = await api.guard(options.channel, body)
    return { action: 'guard', change: answer.data, json: answer.raw }
  })
}

export async function releaseResumeCommand(app: AppContext, options: ReleaseChannelOptions): Promise<ChannelChangeResult> {
  return withAdminApi(app, options, async (api) => {
    const answer = await api.resume(options.channel)
    return { action: 'resume', change: answer.data, json: answer.raw }
  })
}
