import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../helpers/app.js'
import { register } from '../../helpers/accounts.js'

// Behind nginx's `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`, a client's own
// X-Forwarded-For arrives first and the address the proxy saw is appended: the client picks the
// leftmost entries, never the ones the trusted proxies added.
const CLIENT = '203.0.113.9'
let forged = 0
const forgedAddress = () => `198.18.${Math.floor(forged / 250)}.${(forged++ % 250) + 1}`

interface Form {
  name: string
  trustProxy: string
  /** The socket peer, and what the proxies append after the client's own header. */
  peer: string
  appended: string[]
  /** The address tollgate must see. */
  client: string
}

const FORMS: Form[] = [
  { name: 'a hop count, one proxy', trustProxy: '1', peer: '127.0.0.1', appended: [CLIENT], client: CLIENT },
  { name: 'a hop count, two proxies', trustProxy: '2', peer: '127.0.0.1', appended: [CLIENT, '10.0.0.5'], client: CLIENT },
  { name: 'the proxy\'s address', trustProxy: '127.0.0.1', peer: '127.0.0.1', appended: [CLIENT], client: CLIENT },
  { name: 'CIDRs covering two proxies', trustProxy: '10.0.0.0/8, ::1', peer: '10.1.2.3', appended: [CLIENT, '10.0.0.5'], client: CLIENT },
  { name: 'a list, reached directly by a client that is no proxy', trustProxy: '10.0.0.0/8', peer: CLIENT, appended: [], client: CLIENT },
]

describe.each(FORMS)('TRUST_PROXY as $name ($trustProxy)', (form) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp({ TRUST_PROXY: form.trustProxy, RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_LOGIN_PER_IP: '3' })
  })
  afterAll(async () => t?.close())

  const through = (payload: object) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload,
      remoteAddress: form.peer,
      headers: { 'x-forwarded-for': [forgedAddress(), ...form.appended].join(', '), 'user-agent': 'test-agent/1.0' },
    })

  it('records the client\'s real address, not the one it forged', async () => {
    const { email, password } = await register(t.app)
    const response = await through({ email, password })
    expect(response.statusCode).toBe(200)
    const sessions = await t.app.inject({ url: '/v1/auth/sessions', headers: { authorization: `Bearer ${response.json().access_token}` } })
    expect(sessions.json().sessions.map((s: { ip: string }) => s.ip)).toEqual([form.client])
  })

  it('keeps a client that forges a new X-Forwarded-For each time under the per-address limit', async () => {
    const { email } = await register(t.app)
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await through({ email, password: 'not the password' })).statusCode)
    expect(statuses.at(-1)).toBe(429)
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(1)
  })
})
