import { once } from 'node:events'
import { createConnection, createServer, type Server, type Socket } from 'node:net'

/**
 * What the proxy does to the traffic between the service and PostgreSQL:
 * - `pass`: forwards both ways;
 * - `reset`: resets every open connection and refuses new ones (a crashed server, a failover);
 * - `blackhole`: forwards nothing and closes nothing (a dead host, a partition): connections
 *   silenced this way stay silent for good, as a dead peer's would, even after `pass` returns.
 */
export type FaultMode = 'pass' | 'reset' | 'blackhole'

export interface FaultProxy {
  readonly port: number
  readonly mode: FaultMode
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string
  set(mode: FaultMode): Promise<void>
  /**
   * The next statement whose SQL matches `pattern` reaches PostgreSQL, which runs it, but its
   * reply never comes back: from then on that connection answers nothing (a reply lost on the
   * way). With `after`, only on a connection that ran a statement matching `after` first (the
   * COMMIT of one kind of transaction, say). Resolves when it happened.
   */
  dropReplyTo(pattern: RegExp, options?: { after?: RegExp }): Promise<string>
  /**
   * Holds back the server's replies: each chunk is forwarded `delay()` ms after it arrived (in
   * order on each connection), a server or network slower than the service's query timeout for
   * some of them. Undefined forwards at once again (what is held back still comes, late).
   */
  delayReplies(delay: (() => number) | undefined): void
  /** Connections opened through the proxy so far. */
  readonly connections: number
  close(): Promise<void>
}

interface Link {
  client: Socket
  server: Socket | undefined
  /** Nothing is forwarded either way, for good. */
  silent: boolean
  /** The server's replies are dropped, for good. */
  repliesDropped: boolean
  /** When the last delayed reply is forwarded: replies keep their order. */
  releasedAt: number
}

const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104

/**
 * Reads the frontend protocol (what the client sends) just enough to know which SQL each
 * Bind or simple Query runs: prepared statements are named once by Parse and then bound by name.
 */
function frontendReader(onStatement: (sql: string) => void) {
  let buffered = Buffer.alloc(0)
  let startup = true
  const statements = new Map<string, string>()
  const cstring = (buffer: Buffer, offset: number): [string, number] => {
    const end = buffer.indexOf(0, offset)
    return [buffer.toString('utf8', offset, end), end + 1]
  }
  return (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    for (;;) {
      if (startup) {
        if (buffered.length < 8) return
        const length = buffered.readInt32BE(0)
        if (buffered.length < length) return
        const code = buffered.readInt32BE(4)
        buffered = buffered.subarray(length)
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) startup = false
        continue
      }
      if (buffered.length < 5) return
      const length = buffered.readInt32BE(1)
      if (buffered.length < 1 + length) return
      const type = String.fromCharCode(buffered[0]!)
      const body = buffered.subarray(5, 1 + length)
      buffered = buffered.subarray(1 + length)
      if (type === 'P') {
        const [name, next] = cstring(body, 0)
        statements.set(name, cstring(body, next)[0])
      } else if (type === 'B') {
        const [, next] = cstring(body, 0)
        const sql = statements.get(cstring(body, next)[0])
        if (sql !== undefined) onStatement(sql)
      } else if (type === 'Q') {
        onStatement(cstring(body, 0)[0])
      }
    }
  }
}

/**
 * A TCP proxy in front of PostgreSQL that can cut or silence the connection, for tests of what the
 * service does when its database falters. Listens on 127.0.0.1, on a random port.
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: FaultMode = 'pass'
  let opened = 0
  const links = new Set<Link>()
  let delay: (() => number) | undefined
  let armed: { pattern: RegExp; after: RegExp | undefined; primed: Set<Link>; resolve: (sql: string) => void } | undefined

  const server: Server = createServer((client) => {
    opened++
    const link: Link = { client, server: undefined, silent: mode === 'blackhole', repliesDropped: false, releasedAt: 0 }
    links.add(link)
    client.on('error', () => {})
    client.on('close', () => {
      links.delete(link)
      if (!link.silent) link.server?.destroy()
    })
    if (link.silent) return
    const upstream = createConnection(target)
    link.server = upstream
    upstream.on('error', () => {})
    upstream.on('close', () => {
      if (!link.silent) client.destroy()
    })
    const read = frontendReader((sql) => {
      if (!armed) return
      if (armed.after && !armed.primed.has(link)) {
        if (armed.after.test(sql)) armed.primed.add(link)
        return
      }
      if (armed.pattern.test(sql)) {
        link.repliesDropped = true
        armed.resolve(sql)
        armed = undefined
      }
    })
    client.on('data', (chunk: Buffer) => {
      if (link.silent) return
      read(chunk)
      upstream.write(chunk)
    })
    const forward = (chunk: Buffer) => {
      if (!link.silent && !link.repliesDropped && !client.destroyed) client.write(chunk)
    }
    upstream.on('data', (chunk: Buffer) => {
      const wait = delay?.() ?? 0
      const at = Math.max(performance.now() + wait, link.releasedAt)
      if (at <= performance.now()) return forward(chunk)
      link.releasedAt = at
      setTimeout(() => forward(chunk), at - performance.now())
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port

  const resetAll = () => {
    for (const link of links) {
      link.client.resetAndDestroy()
      link.server?.resetAndDestroy()
    }
    links.clear()
  }

  return {
    port,
    get mode() {
      return mode
    },
    get connections() {
      return opened
    },
    url(databaseUrl) {
      const url = new URL(databaseUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    async set(next) {
      if (next === mode) return
      const previous = mode
      mode = next
      if (next === 'reset') {
        const closed = once(server, 'close')
        server.close()
        resetAll()
        await closed
      } else if (next === 'blackhole') {
        for (const link of links) link.silent = true
      }
      if (previous === 'reset') {
        server.listen(port, '127.0.0.1')
        await once(server, 'listening')
      }
    },
    dropReplyTo(pattern, options = {}) {
      return new Promise((resolve) => {
        armed = { pattern, after: options.after, primed: new Set(), resolve }
      })
    },
    delayReplies(next) {
      delay = next
    },
    async close() {
      armed = undefined
      delay = undefined
      for (const link of links) {
        link.client.destroy()
        link.server?.destroy()
      }
      links.clear()
      if (server.listening) {
        server.close()
        await once(server, 'close')
      }
    },
  }
}
