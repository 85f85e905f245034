import t from 'tap'
import { startService } from './service.js'

t.test('the built service starts, answers readiness, and exits 0 on SIGTERM without an error', async (t) => {
  const service = await startService()
  t.teardown(() => service.kill())

  const live = await fetch(`${service.baseUrl}/health/live`)
  t.equal(live.status, 200)
  const ready = await fetch(`${service.baseUrl}/health/ready`)
  t.equal(ready.status, 200)
  t.same(await ready.json(), { status: 'ok' })

  const { code, signal } = await service.stop('SIGTERM')
  t.equal(code, 0, 'exits 0')
  t.equal(signal, null)
  const errors = service.logs().filter((line) => line.level >= 50)
  t.same(errors, [], 'logs no error')
})
