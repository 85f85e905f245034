import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * The benchmark's processes talk over Node's IPC channel: the parent calls `request(method,
 * params)`, the child answers from its handler table (`serve`). Servers under test, the load
 * generator and in-process measurements each get a process of their own, so none of them
 * competes with another for an event loop.
 */
type Handlers = Record<string, (params: unknown) => unknown>

interface Call {
  id: number
  method: string
  params: unknown
}
type Reply = { id: number; result: unknown } | { id: number; error: string }
type Ready = { ready: true; info: unknown }

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Child<Info = unknown> {
  info: Info
  pid: number
  request<T>(method: string, params?: unknown): Promise<T>
  /** Asks the child to close (method `close`), then kills it if it has not exited in time. */
  close(): Promise<void>
}

export function startChild<Info>(entry: string | URL, options: { args?: string[]; env?: NodeJS.ProcessEnv; execArgv?: string[] } = {}): Promise<Child<Info>> {
  const path = entry instanceof URL ? fileURLToPath(entry) : entry
  const child: ChildProcess = fork(path, options.args ?? [], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    execArgv: ['--import', 'tsx', '--conditions=tollgate-source', ...(options.execArgv ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 1
  let exited = false

  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      exited = true
      const error = new Error(`${path} exited (${signal ?? code})`)
      for (const call of pending.values()) call.reject(error)
      pending.clear()
      reject(error)
    }
    child.once('exit', onExit)
    child.once('error', reject)
    child.on('message', (message: Reply | Ready) => {
      if ('ready' in message) {
        resolve({
          info: message.info as Info,
          pid: child.pid!,
          request<T>(method: string, params?: unknown) {
            if (exited) return Promise.reject(new Error(`${path} is not running`))
            const id = nextId++
            return new Promise<T>((resolveCall, rejectCall) => {
              pending.set(id, { resolve: resolveCall as (value: unknown) => void, reject: rejectCall })
              child.send({ id, method, params } satisfies Call)
            })
          },
          async close() {
            if (exited) return
            const gone = new Promise<void>((done) => child.once('exit', () => done()))
            child.send({ id: 0, method: 'close', params: null } satisfies Call)
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
            await gone
            clearTimeout(timer)
          },
        })
        return
      }
      const call = pending.get(message.id)
      if (!call) return
      pending.delete(message.id)
      if ('error' in message) call.reject(new Error(message.error))
      else call.resolve(message.result)
    })
  })
}

/** The child's side: announces itself with `info`, then answers calls until `close`. */
export function serve(info: unknown, handlers: Handlers): void {
  const send = process.send!.bind(process)
  process.on('message', (call: Call) => {
    if (call.method === 'close') {
      Promise.resolve(handlers.close?.(null)).finally(() => process.exit(0))
      return
    }
    const handler = handlers[call.method]
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`no handler for ${call.method}`)
        return handler(call.params)
      })
      .then(
        (result) => send({ id: call.id, result: result ?? null } satisfies Reply),
        (error: unknown) => send({ id: call.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply),
      )
  })
  // The parent going away (Ctrl-C, a crash) takes the child with it.
  process.on('disconnect', () => process.exit(0))
  send({ ready: true, info } satisfies Ready)
}
