// Sets or deletes a value at a dotted path of a JSON-like object, for fuzz mutations. Missing
// intermediate objects end the walk quietly; defineProperty keeps keys like `__proto__` plain.
export function setPath(obj: unknown, path: string, value: unknown): void {
  const keys = path.split('.')
  let at = obj as Record<string, unknown> | null
  for (const k of keys.slice(0, -1)) {
    if (!at || typeof at !== 'object') return
    at = at[k] as Record<string, unknown> | null
  }
  if (!at || typeof at !== 'object') return
  const last = keys[keys.length - 1]!
  if (value === undefined) delete at[last]
  else Object.defineProperty(at, last, { value, enumerable: true, configurable: true, writable: true })
}
