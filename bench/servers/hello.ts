import Fastify from 'fastify'
import type { BenchServer } from '../lib/server.js'

/** The ceiling: Fastify answering a constant, no plugins. */
export async function start(): Promise<BenchServer> {
  const app = Fastify({ logger: false })
  app.get('/', async () => ({ hello: 'world' }))
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    url,
    async prepare() {
      return { method: 'GET', path: '/' }
    },
    close: () => app.close(),
  }
}
