// `cco config set KEY VALUE`: validated, written atomically, comments and unknown keys kept.
import { setConfigValue } from '../config/store.ts'
import type { AppContext } from '../context.ts'
import { redactUrl } from '../system/url-policy.ts'
import type { ConfigValue } from './config-get.ts'

export function configSetCommand(app: AppContext, key: string, value: string): ConfigValue & { path: string } {
  const result = setConfigValue(app.paths.configFile, key, value)
  return { ...result, value: key === 'network.proxy' && value ? redactUrl(result.value) : result.value, path: app.paths.configFile }
}
