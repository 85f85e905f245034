#!/usr/bin/env node
// Runs `prisma generate` after install. Generating the client never executes the schema
// engine, but the CLI insists that one exists; where it cannot be downloaded we point it at
// any executable so that generation works offline and in CI.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' }
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath
}
const prismaCli = require.resolve('prisma/build/index.js')
const result = spawnSync(process.execPath, [prismaCli, 'generate'], { stdio: 'inherit', env })
process.exit(result.status ?? 1)
