// How the Worker reaches the product's one Durable Object (Workers RPC).
import type { Broker } from './broker.ts'

export function brokerStub(env: Env, product: string): DurableObjectStub<Broker> {
  return env.BROKER.get(env.BROKER.idFromName(product))
}
