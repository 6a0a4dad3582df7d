// The Hono environment shared by the app and its route sub-apps.
import type { BrokerConfig } from './config.ts'

export interface AppEnv {
  Bindings: Env
  Variables: { config: BrokerConfig }
}
