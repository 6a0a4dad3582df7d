// `cco release yank VERSION --reason R` and `unyank VERSION`: withdraw a version from every
// channel (hosts running it move off it, even downwards) or take the withdrawal back.
import { YankRequestSchema, type AcceptedAnswer } from '../../../contract/api.ts'
import type { AppContext } from '../context.ts'
import { checkedBody, checkedVersion } from '../release/arguments.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'

export interface ReleaseYankResult {
  action: 'yank' | 'unyank'
  version: string
  change: AcceptedAnswer<'ReleaseChange'>
  json: unknown
}

export async function releaseYankCommand(app: AppContext, version: string, options: ReleaseConnectionOptions & { reason: string }): Promise<ReleaseYankResult> {
  const v = checkedVersion(version)
  const body = checkedBody(YankRequestSchema, { reason: options.reason.trim() }, '--reason')
  return withAdminApi(app, options, async (api) => {
    const answer = await api.yank(v, body)
    return { action: 'yank', version: v, change: answer.data, json: answer.raw }
  })
}

export async function releaseUnyankCommand(app: AppContext, version: string, options: ReleaseConnectionOptions): Promise<ReleaseYankResult> {
  const v = checkedVersion(version)
  return withAdminApi(app, options, async (api) => {
    const answer = await api.unyank(v)
    return { action: 'unyank', version: v, change: answer.data, json: answer.raw }
  })
}
