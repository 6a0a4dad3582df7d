// `cco config get KEY`: exactly one line, `KEY = VALUE`.
import { keySpec } from '../config/keys.ts'
import { loadConfig } from '../config/load.ts'
import type { AppContext } from '../context.ts'
import { redactUrl } from '../system/url-policy.ts'

export interface ConfigValue {
  key: string
  value: string
}

export function configGetCommand(app: AppContext, key: string): ConfigValue {
  const spec = keySpec(key)
  const { config } = loadConfig(app.paths.configFile)
  const value = spec.show(config)
  return { key, value: key === 'network.proxy' && config.network.proxy ? redactUrl(value) : value }
}
