import { spawn, type ChildProcess } from 'node:child_process'

const ROOT = new URL('../../', import.meta.url).pathname

/** Starts examples/microservice (on the built tollgate/verifier) as its own process and resolves to its base URL. */
export async function startExample(env: Record<string, string>): Promise<{ baseUrl: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [`${ROOT}examples/microservice/server.mjs`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`example did not start: ${output}`))
    }, 15_000)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`example exited with ${code}: ${output}`))
    })
  })
  return { baseUrl, child }
}
