// The two readings of every answer body (contract/README.md, "The admin API's answers"):
// - `served`: exactly what this broker sends. Every field, nothing else (strict objects),
//   exact values (channel and platform keys). The Worker's routes build answers that satisfy
//   these types, and its tests parse what it serves with these schemas.
// - `accepted`: what a client takes from any broker that speaks this API. Unknown fields are
//   kept (loose objects), a field a client can do without may be missing, and an open value
//   (a channel or platform name, an audit entry's detail) may take a form this client does not
//   know. A newer broker that adds fields, channels or platforms does not break an older client.
import * as z from 'zod/mini'

export type Reading = 'served' | 'accepted'
export type When<R extends Reading, Served, Accepted> = R extends 'served' ? Served : Accepted

/** The schema builders of one reading; api.ts and fleet.ts write each answer once with them. */
export function readingOf<R extends Reading>(reading: R) {
  const served = reading === 'served'
  return {
    served,
    /** An object: strict when served, loose (unknown fields kept) when accepted. */
    object: <S extends z.core.$ZodLooseShape>(shape: S) =>
      (served ? z.strictObject(shape) : z.looseObject(shape)) as unknown as When<R, z.ZodMiniObject<S, z.core.$strict>, z.ZodMiniObject<S, z.core.$loose>>,
    /** A field the broker always sends and a client can do without: it may be missing when accepted. */
    spare: <T extends z.ZodMiniType>(t: T) => (served ? t : z.optional(t)) as unknown as When<R, T, z.ZodMiniOptional<T>>,
    /** A value that is `exact` when served and may be anything `wider` allows when accepted. */
    open: <S extends z.ZodMiniType, A extends z.ZodMiniType>(exact: S, wider: A) => (served ? exact : wider) as unknown as When<R, S, A>,
  }
}
