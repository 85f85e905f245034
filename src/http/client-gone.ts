import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * A signal that aborts once the client's connection closes before its response was written: the
 * client gave up (a timeout, a closed tab, a flood tool moving on). Services take it to skip work
 * nobody will read (src/services/password-hasher.ts).
 *
 * Not Fastify's `request.signal`: it listens for the request's 'close', which Node emits as soon as
 * the body has been read, so it aborts for every connected client too. The response's 'close' comes
 * when the socket closes or after the response is finished, and `writableFinished` tells the two apart.
 */
export function clientGoneSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const response = reply.raw
  if (response.destroyed || request.raw.socket.destroyed) return AbortSignal.abort()
  const controller = new AbortController()
  response.once('close', () => {
    if (!response.writableFinished) controller.abort()
  })
  return controller.signal
}
