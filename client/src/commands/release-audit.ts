// `cco release audit [-n N] [--before ID]`: who changed what on the broker, newest first.
import type { AcceptedAnswer } from '../../../contract/api.ts'
import type { AppContext } from '../context.ts'
import { parseCount } from '../release/arguments.ts'
import { withAdminApi, type ReleaseConnectionOptions } from '../release/session.ts'

export interface ReleaseAuditOptions extends ReleaseConnectionOptions {
  limit?: string
  before?: string
}

export interface ReleaseAuditResult {
  page: AcceptedAnswer<'AuditPage'>
  json: unknown
}

export async function releaseAuditCommand(app: AppContext, options: ReleaseAuditOptions): Promise<ReleaseAuditResult> {
  const limit = options.limit === undefined ? undefined : parseCount(options.limit, '-n')
  const before = options.before === undefined ? undefined : parseCount(options.before, '--before')
  return withAdminApi(app, options, async (api) => {
    const answer = await api.audit({ limit, before })
    return { page: answer.data, json: answer.raw }
  })
}
