// Which FleetShard object holds a host, and how many there are: sha256(host_id), its first 4
// bytes big-endian, mod FLEET_SHARDS; the object is named `<PRODUCT>:fleet:<shard>`.
import { digestPrefix32 } from '../../contract/rollout.ts'
import { ConfigError } from '../errors.ts'
import type { FleetShard } from './shard.ts'

export const DEFAULT_FLEET_SHARDS = 16
export const MAX_FLEET_SHARDS = 1024

const counts = new WeakMap<object, number>()

/** FLEET_SHARDS (default 16), parsed once per environment; a bad value names the var. */
export function fleetShardCount(env: { FLEET_SHARDS?: string }): number {
  let n = counts.get(env)
  if (n === undefined) {
    const raw = (env.FLEET_SHARDS ?? '').trim() || String(DEFAULT_FLEET_SHARDS)
    if (!/^[1-9]\d{0,3}$/.test(raw) || Number(raw) > MAX_FLEET_SHARDS) {
      throw new ConfigError(`var FLEET_SHARDS must be a whole number from 1 to ${MAX_FLEET_SHARDS} (got ${JSON.stringify(env.FLEET_SHARDS)})`)
    }
    n = Number(raw)
    counts.set(env, n)
  }
  return n
}

/** The first 4 bytes of sha256(host_id) as an unsigned integer: stored with the host, so a shard can tell its own hosts under any shard count. */
export async function hostHash(hostId: string): Promise<number> {
  return digestPrefix32(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(hostId))))
}

export async function shardOf(hostId: string, shards: number): Promise<number> {
  return (await hostHash(hostId)) % shards
}

export function fleetShardName(product: string, shard: number): string {
  return `${product}:fleet:${shard}`
}

export function fleetShard(env: Env, product: string, shard: number): DurableObjectStub<FleetShard> {
  return env.FLEET.get(env.FLEET.idFromName(fleetShardName(product, shard)))
}

/** Every shard's index, for a fan-out. */
export function allShards(shards: number): number[] {
  return Array.from({ length: shards }, (_, i) => i)
}
