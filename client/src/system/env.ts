// The process environment as a plain value, so that every seam reads it from one place.
export type Env = Readonly<Record<string, string | undefined>>

/** A variable that is set to something other than the empty string. */
export function envValue(env: Env, name: string): string | undefined {
  const v = env[name]
  return v === undefined || v === '' ? undefined : v
}

/** The first of several spellings that is set (`HTTPS_PROXY`, `https_proxy`). */
export function envAny(env: Env, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = envValue(env, n)
    if (v !== undefined) return v
  }
  return undefined
}
