// `cco config path`: where the config file is (whether or not it exists yet).
import type { AppContext } from '../context.ts'

export function configPathCommand(app: AppContext): { path: string } {
  return { path: app.paths.configFile }
}
