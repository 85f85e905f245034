import { connect, type Socket } from 'node:net'
import t from 'tap'
import { startService } from './service.js'

const SLOW_SOCKETS = 300

interface SlowClient {
  socket: Socket
  closed: Promise<string>
}

/** A client that sends a request line and then one header line every half second, never finishing. */
function slowClient(port: number): SlowClient {
  const socket = connect({ host: '127.0.0.1', port })
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
  const timer = setInterval(() => socket.writable && socket.write(`X-Slow-${Math.random().toString(36).slice(2, 8)}: 1\r\n`), 500)
  socket.once('connect', () => socket.write('GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n'))
  const closed = new Promise<string>((resolve) => {
    socket.once('close', () => {
      clearInterval(timer)
      resolve(received)
    })
    socket.on('error', () => {})
  })
  return { socket, closed }
}

t.test('slowloris: sockets dribbling headers do not starve real requests, and the server closes them', async (t) => {
  const service = await startService({ HEADERS_TIMEOUT_SECONDS: '2', REQUEST_TIMEOUT_SECONDS: '3', KEEP_ALIVE_TIMEOUT_SECONDS: '2' })
  const slow: SlowClient[] = []
  t.teardown(() => {
    for (const client of slow) client.socket.destroy()
    service.kill()
  })
  const port = Number(new URL(service.baseUrl).port)

  for (let i = 0; i < SLOW_SOCKETS; i++) slow.push(slowClient(port))
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const stillOpen = slow.filter((client) => !client.socket.destroyed).length
  t.ok(stillOpen > SLOW_SOCKETS / 2, `slow sockets are connected and dribbling (${stillOpen} open)`)

  for (const url of ['/health/live', '/health/ready']) {
    const res = await fetch(`${service.baseUrl}${url}`, { signal: AbortSignal.timeout(5000) })
    t.equal(res.status, 200, `${url} is answered while ${SLOW_SOCKETS} sockets dribble headers`)
  }

  const answers = await Promise.race([
    Promise.all(slow.map((client) => client.closed)),
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('slow sockets still open after 20 s')), 20_000)),
  ])
  t.equal(answers.length, SLOW_SOCKETS, 'every slow socket was closed by the server')
  const timedOut = answers.filter((answer) => answer.startsWith('HTTP/1.1 408')).length
  t.ok(timedOut > 0, `the server answered 408 Request Timeout before closing (${timedOut} of ${SLOW_SOCKETS})`)

  const after = await fetch(`${service.baseUrl}/health/live`, { signal: AbortSignal.timeout(5000) })
  t.equal(after.status, 200, 'and the service still answers afterwards')
})

t.test('the connection cap refuses sockets beyond MAX_CONNECTIONS instead of queueing them', async (t) => {
  const service = await startService({ MAX_CONNECTIONS: '20', HEADERS_TIMEOUT_SECONDS: '2' })
  const slow: SlowClient[] = []
  t.teardown(() => {
    for (const client of slow) client.socket.destroy()
    service.kill()
  })
  const port = Number(new URL(service.baseUrl).port)

  for (let i = 0; i < 20; i++) slow.push(slowClient(port))
  await new Promise((resolve) => setTimeout(resolve, 500))
  const extra = slowClient(port)
  slow.push(extra)
  const answer = await Promise.race([extra.closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 1500))])
  t.equal(answer, '', 'a socket over the cap is closed at once, unanswered')

  await Promise.all(slow.map((client) => client.closed))
  const res = await fetch(`${service.baseUrl}/health/live`, { signal: AbortSignal.timeout(5000) })
  t.equal(res.status, 200, 'once the slow sockets are reaped, requests are served again')
})
