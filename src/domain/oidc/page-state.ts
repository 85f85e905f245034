import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * What a login or consent form carries between the authorization request and its POST: the
 * request's parameters (checked again on every step), the browser it was shown to (the CSRF
 * cookie), the sign-in the consent was asked of, and an expiry; MACed under a server key, so no
 * server-side storage is needed and any instance can take the POST.
 */
export interface PageState {
  /** Which form the state belongs to: a login or consent form, or the logout confirmation. */
  purpose: 'authorize' | 'logout'
  /** The request's parameters, as strings. */
  params: Record<string, string>
  /** Digest of the browser's CSRF cookie: the form works only in the browser it was shown in. */
  browser: string
  /** The consent step: the sign-in session the consent screen was shown to. */
  signInSessionId?: string | undefined
  expiresAt: number
}

/** How long a login or consent form stays valid. */
export const PAGE_STATE_TTL_SECONDS = 30 * 60

export function newCsrfCookieValue(): string {
  return randomBytes(32).toString('base64url')
}

export function browserBinding(csrfCookie: string): string {
  return createHash('sha256').update(csrfCookie).digest('base64url').slice(0, 22)
}

const mac = (body: string, key: Buffer) => createHmac('sha256', key).update(`page-state.${body}`).digest()

export function sealPageState(state: Omit<PageState, 'expiresAt'>, key: Buffer, now: Date): string {
  const params = Object.fromEntries(Object.entries(state.params).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
  const body = Buffer.from(
    JSON.stringify({ u: state.purpose, p: params, b: state.browser, s: state.signInSessionId, e: Math.floor(now.getTime() / 1000) + PAGE_STATE_TTL_SECONDS }),
  ).toString('base64url')
  return `${body}.${mac(body, key).toString('base64url')}`
}

/** The state, when the MAC is one of `keys`', it is not expired and it was shown to this browser; else null. */
export function openPageState(sealed: string, keys: readonly Buffer[], csrfCookie: string | undefined, now: Date): PageState | null {
  const [body, signature, ...rest] = sealed.split('.')
  if (!body || !signature || rest.length > 0 || !csrfCookie) return null
  const presented = Buffer.from(signature, 'base64url')
  const valid = keys.map((key) => mac(body, key)).some((expected) => expected.length === presented.length && timingSafeEqual(expected, presented))
  if (!valid) return null
  let decoded: { u?: unknown; p?: unknown; b?: unknown; s?: unknown; e?: unknown }
  try {
    decoded = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  if (typeof decoded.e !== 'number' || decoded.e * 1000 <= now.getTime()) return null
  if (typeof decoded.b !== 'string' || decoded.b !== browserBinding(csrfCookie)) return null
  if (typeof decoded.p !== 'object' || decoded.p === null) return null
  if (decoded.u !== 'authorize' && decoded.u !== 'logout') return null
  return {
    purpose: decoded.u,
    params: decoded.p as Record<string, string>,
    browser: decoded.b,
    signInSessionId: typeof decoded.s === 'string' ? decoded.s : undefined,
    expiresAt: decoded.e,
  }
}

/** The sign-in cookie's value: the session id and a MAC of it, so only tollgate can mint one. */
export function signInCookieValue(sessionId: string, key: Buffer): string {
  return `${sessionId}.${createHmac('sha256', key).update(`sign-in.${sessionId}`).digest('base64url')}`
}

/** The session id of a genuine sign-in cookie, or undefined. */
export function sessionIdOfSignInCookie(value: string | undefined, keys: readonly Buffer[]): string | undefined {
  if (!value) return undefined
  const [sessionId, signature, ...rest] = value.split('.')
  if (!sessionId || !signature || rest.length > 0) return undefined
  const presented = Buffer.from(signature)
  const genuine = keys.some((key) => {
    const expected = Buffer.from(signInCookieValue(sessionId, key).split('.')[1]!)
    return expected.length === presented.length && timingSafeEqual(expected, presented)
  })
  return genuine ? sessionId : undefined
}
