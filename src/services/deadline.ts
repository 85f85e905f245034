import { ProblemError } from '../errors.js'

/**
 * `work` bounded to `ms`: past it, the caller gets 503 service_unavailable with Retry-After at
 * once, while the work itself runs on to its end (the database bounds that). A refresh uses it so
 * that a client whose reply is late retries, and is answered, inside the grace window, whatever
 * the late work did: a rotation that committed meanwhile is a replay inside the window, which
 * hands out the same successor.
 */
export function withDeadline<Args extends unknown[], Result>(
  work: (...args: Args) => Promise<Result>,
  ms: number,
  retryAfterSeconds = 1,
): (...args: Args) => Promise<Result> {
  return (...args) => {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProblemError('service_unavailable', 'The request took too long; retry it', { retryAfterSeconds })), ms)
    })
    return Promise.race([work(...args), deadline]).finally(() => clearTimeout(timer))
  }
}
