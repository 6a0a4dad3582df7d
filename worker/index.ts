import { DurableObject } from 'cloudflare:workers'
export default { async fetch() { return new Response('ok') } } satisfies ExportedHandler<Env>
export class Broker extends DurableObject<Env> { }
