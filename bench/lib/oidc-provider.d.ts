// The parts of oidc-provider the baseline uses (it ships no types).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  interface Model {
    save(): Promise<string>
  }
  interface GrantModel extends Model {
    addOIDCScope(scope: string): void
    addResourceScope(resource: string, scope: string): void
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    callback(): (request: IncomingMessage, response: ServerResponse) => void
    on(event: string, listener: (...args: unknown[]) => void): void
    Grant: new (fields: { accountId: string; clientId: string }) => GrantModel
    RefreshToken: new (fields: Record<string, unknown>) => Model
    AuthorizationCode: new (fields: Record<string, unknown>) => Model
    Client: { find(id: string): Promise<unknown> }
  }
}

declare module 'oidc-provider/lib/helpers/lru.js' {
  export default class LRU {
    constructor(options: { maxSize: number })
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  /** The default adapter; `store` replaces the LRU of a thousand entries it creates otherwise. */
  export default class MemoryAdapter {
    constructor(model: string, store?: unknown, clockTolerance?: number)
  }
}
