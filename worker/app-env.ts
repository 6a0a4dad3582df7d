// The Hono environment shared by the app and its route sub-apps.
import type { AdminActor } from './broker/types.ts'
import type { BrokerConfig } from './config.ts'

export interface AppEnv {
  Bindings: Env
  /** `actor` is set by the admin authentication middleware (auth/require-admin.ts). */
  Variables: { config: BrokerConfig; actor: AdminActor }
}
