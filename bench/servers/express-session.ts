import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import express from 'express'
import session from 'express-session'
import type pg from 'pg'
import { baselinePool } from '../lib/pg-baseline.js'
import type { BenchServer } from '../lib/server.js'
import { SKUS } from './tollgate.js'

declare module 'express-session' {
  interface SessionData {
    userId: string
    cart: CartItem[]
    version: number
  }
}

interface CartItem {
  id: string
  sku: string
  quantity: number
  createdAt: string
  updatedAt: string
}

// connect-pg-simple ships no types.
type PgStoreConstructor = new (options: { pool: pg.Pool; tableName: string; createTableIfMissing: boolean }) => session.Store
const connectPgSimple = createRequire(import.meta.url)('connect-pg-simple') as (s: typeof session) => PgStoreConstructor

const USERS = 100
const SKU = /^[A-Za-z0-9._-]{1,64}$/

/**
 * The stateful approach tollgate replaces, as the classic tutorial builds it: Express 5, a
 * server-side session in PostgreSQL (express-session + connect-pg-simple) holding the cart, a
 * session cookie. Same workload and database server as tollgate's cart.
 */
export async function start(): Promise<BenchServer> {
  const { pool, close } = await baselinePool()
  const PgStore = connectPgSimple(session)
  const store = new PgStore({ pool, tableName: 'bench_session', createTableIfMissing: true })

  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: '16kb' }))
  app.use(
    session({
      store,
      secret: randomUUID(),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'strict', maxAge: 7 * 24 * 3600 * 1000 },
    }),
  )
  app.post('/login', (req, res) => {
    req.session.userId = String(req.body?.userId ?? randomUUID())
    req.session.cart = []
    req.session.version = 0
    res.status(204).end()
  })
  app.get('/cart/items', (req, res) => {
    if (!req.session.userId) return void res.status(401).json({ code: 'unauthorized' })
    res.json({ items: req.session.cart ?? [], version: req.session.version ?? 0 })
  })
  app.post('/cart/items', (req, res) => {
    if (!req.session.userId) return void res.status(401).json({ code: 'unauthorized' })
    const { sku, quantity } = (req.body ?? {}) as { sku?: unknown; quantity?: unknown }
    if (typeof sku !== 'string' || !SKU.test(sku) || typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 999) {
      return void res.status(400).json({ code: 'validation_failed' })
    }
    const cart = (req.session.cart ??= [])
    const now = new Date().toISOString()
    let item = cart.find((candidate) => candidate.sku === sku)
    if (item && item.quantity + quantity > 999) return void res.status(422).json({ code: 'quantity_limit' })
    if (item) {
      item.quantity += quantity
      item.updatedAt = now
    } else {
      item = { id: randomUUID(), sku, quantity, createdAt: now, updatedAt: now }
      cart.push(item)
    }
    req.session.version = (req.session.version ?? 0) + 1
    res.status(201).json(item)
  })

  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  async function sessions(items: number): Promise<string[]> {
    const cookies: string[] = []
    for (let i = 0; i < USERS; i++) {
      const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: randomUUID() }) })
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!
      for (const sku of SKUS.slice(0, items)) {
        const added = await fetch(`${url}/cart/items`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ sku, quantity: 1 }) })
        if (added.status !== 201) throw new Error(`express-session fixture: ${added.status}`)
      }
      cookies.push(cookie)
    }
    return cookies
  }
  let getCookies: Promise<string[]> | undefined
  let postCookies: Promise<string[]> | undefined

  return {
    url,
    async prepare(caseName) {
      if (caseName === 'express-get') {
        return { method: 'GET', path: '/cart/items', variants: (await (getCookies ??= sessions(5))).map((cookie) => ({ headers: { cookie } })) }
      }
      const cookies = await (postCookies ??= sessions(0))
      return {
        method: 'POST',
        path: '/cart/items',
        variants: SKUS.flatMap((sku) => cookies.map((cookie) => ({ headers: { cookie }, body: JSON.stringify({ sku, quantity: 1 }) }))),
      }
    },
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await close()
    },
  }
}
