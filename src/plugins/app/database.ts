import fp from 'fastify-plugin'
import type { Config } from '../../config.js'
import { openDatabase, type Database } from '../../db/database.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Database
  }
}

/** Opens the database (applying pending migrations) before the app is ready; closes it last. */
export default fp<{ config: Config; database?: Database }>(
  async (app, { config, database }) => {
    const db = database ?? (await openDatabase({ config, log: app.log }))
    app.decorate('db', db)
    if (!database) app.addHook('onClose', async () => db.close())
  },
  { name: 'database' },
)
