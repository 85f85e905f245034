import { Agent, request, type ClientRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import t from 'tap'
import { startService } from './service.js'

const DRAIN_SECONDS = 2

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

function answer(req: ClientRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    req.once('error', reject)
    req.once('response', (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
      res.once('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
  })
}

/** Whether a new TCP connection to the port is still accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

t.test('SIGTERM drains: readiness 503 at once, Connection: close while serving, in-flight requests finish, exit 0', async (t) => {
  const service = await startService({ DRAIN_DELAY_SECONDS: String(DRAIN_SECONDS) })
  t.teardown(() => service.kill())
  const port = Number(new URL(service.baseUrl).port)
  // One keep-alive socket, as a balancer's upstream pool holds them.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const get = (path: string) => answer(request({ host: '127.0.0.1', port, path, agent }).end())

  const before = await get('/health/ready')
  t.equal(before.status, 200)
  t.not(before.headers.connection, 'close', 'a running instance keeps its connections alive')

  // A registration whose body is still on its way when the signal comes: in flight throughout.
  const body = JSON.stringify({ email: `drain-${Date.now()}@example.com`, password: 'correct horse battery staple' })
  const inFlight = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/auth/register',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  })
  const inFlightAnswer = answer(inFlight)
  inFlight.write(body.slice(0, 10))
  await new Promise((resolve) => setTimeout(resolve, 200))

  const stopped = service.stop('SIGTERM')
  let ready = await get('/health/ready')
  for (let i = 0; ready.status === 200 && i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    ready = await get('/health/ready')
  }
  t.equal(ready.status, 503, 'readiness answers 503 once the instance is asked to stop')
  t.match(ready.headers['content-type'], /^application\/problem\+json/)
  t.match(JSON.parse(ready.body), { status: 503, code: 'service_unavailable' })
  t.equal(ready.headers.connection, 'close')

  // During the drain the instance still serves everything else, closing each connection after its answer.
  const jwks = await get('/.well-known/jwks.json')
  t.equal(jwks.status, 200, 'still serving during the drain')
  t.equal(jwks.headers.connection, 'close', 'with Connection: close so the balancer stops reusing the socket')
  const login = await answer(
    request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/auth/login', headers: { 'content-type': 'application/json' } }).end(body),
  )
  t.equal(login.status, 401, 'a database route still answers during the drain (no such account yet: 401)')
  t.equal(login.headers.connection, 'close')

  // After the drain delay the listener closes; the request still in flight is not cut.
  let accepting = true
  for (let i = 0; accepting && i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    accepting = await accepts(port)
  }
  t.notOk(accepting, 'stops accepting connections after the drain delay')
  inFlight.end(body.slice(10))
  const registered = await inFlightAnswer
  t.equal(registered.status, 201, 'the request in flight across the close completes')

  const { code, signal } = await stopped
  t.equal(code, 0, 'exits 0')
  t.equal(signal, null)
  t.same(
    service.logs().filter((line) => line.level >= 50),
    [],
    'logs no error',
  )
})
