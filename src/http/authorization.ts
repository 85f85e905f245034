import { accessTokenOf as presentedAccessTokenOf } from '@tollgate/verifier'
import type { FastifyRequest } from 'fastify'
import { DPOP_ALGORITHMS, type DpopPresentation, type PresentedAccessToken } from '../domain/dpop/proof.js'
import type { ClientCredentialParameters, ClientCredentials } from '../domain/oauth/client-auth.js'

/** The one realm of every challenge tollgate sends. */
export const REALM = 'tollgate'

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i

/** The access token of an `Authorization: Bearer` or (RFC 9449 §7.1) `Authorization: DPoP` header, read as the verifier reads it. */
export function accessTokenOf(request: FastifyRequest): PresentedAccessToken | undefined {
  return presentedAccessTokenOf(request.headers.authorization)
}

/** The request's DPoP proof header (every value of it: more than one is an error) and what it must match. */
export function dpopPresentationOf(request: FastifyRequest): DpopPresentation {
  const header = request.headers.dpop
  return { proof: header, method: request.method, path: request.url.split(/[?#]/)[0]! }
}

const quoted = (value: string) => value.replace(/["\\]/g, '')

/** RFC 9449 §7.1: a `WWW-Authenticate: DPoP` challenge, naming the algorithms proofs may use. */
export function dpopChallenge(error?: { code: string; description?: string | undefined; scope?: string | undefined }): string {
  const parts = [`realm="${REALM}"`]
  if (error) {
    parts.push(`error="${error.code}"`)
    if (error.description) parts.push(`error_description="${quoted(error.description)}"`)
    if (error.scope) parts.push(`scope="${error.scope}"`)
  }
  parts.push(`algs="${DPOP_ALGORITHMS.join(' ')}"`)
  return `DPoP ${parts.join(', ')}`
}

/** A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3), with an error when there is one to name. */
export function bearerChallenge(error?: { code: string; description?: string | undefined; scope?: string | undefined }): string {
  const parts = [`realm="${REALM}"`]
  if (error) {
    parts.push(`error="${error.code}"`)
    if (error.description) parts.push(`error_description="${error.description.replace(/["\\]/g, '')}"`)
    if (error.scope) parts.push(`scope="${error.scope}"`)
  }
  return `Bearer ${parts.join(', ')}`
}

export const BASIC_CHALLENGE = `Basic realm="${REALM}"`

/** RFC 6749 Appendix A: client_id and client_secret are visible ASCII and spaces only. */
const VSCHARS = /^[\x20-\x7E]+$/

function formUrlDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '))
  } catch {
    return undefined
  }
}

/**
 * RFC 6749 §2.3.1 (and RFC 7617): `Basic base64(form-urlencode(id) ":" form-urlencode(secret))`.
 * The id and secret are form-urlencoded before base64, so both are decoded after the split.
 * Undefined for anything that is not well-formed Basic credentials.
 */
export function parseBasicCredentials(header: string): { clientId: string; clientSecret: string } | undefined {
  const match = BASIC.exec(header)
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  const clientId = formUrlDecode(decoded.slice(0, colon))
  const clientSecret = formUrlDecode(decoded.slice(colon + 1))
  if (!clientId || !clientSecret || !VSCHARS.test(clientId) || !VSCHARS.test(clientSecret)) return undefined
  return { clientId, clientSecret }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * How an OAuth request identifies its client (RFC 6749 §2.3): the Authorization header
 * (client_secret_basic) or the body (client_secret_post, or client_id alone for a public client).
 * Credentials that cannot be used come back as `malformed` or `ambiguous`, not thrown: the use case
 * decides when that is an error, after checks that come first (an unsupported grant type, say).
 */
export function clientCredentialsOf(authorization: string | undefined, params: ClientCredentialParameters): ClientCredentials {
  const bodyId = nonEmpty(params.client_id)
  const bodySecret = nonEmpty(params.client_secret)
  if (authorization !== undefined) {
    const basic = parseBasicCredentials(authorization)
    if (!basic) {
      return { method: 'malformed', reason: BASIC.test(authorization) ? 'The Basic credentials are malformed' : 'The Authorization header must use the Basic scheme' }
    }
    if (bodySecret !== undefined) return { method: 'ambiguous', reason: 'Use one client authentication method, not both HTTP Basic and client_secret' }
    if (bodyId !== undefined && bodyId !== basic.clientId) return { method: 'ambiguous', reason: 'client_id in the body differs from the HTTP Basic credentials' }
    return { method: 'client_secret_basic', ...basic }
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) return { method: 'ambiguous', reason: 'client_secret was sent without client_id' }
    return { method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret }
  }
  return bodyId === undefined ? { method: 'absent' } : { method: 'none', clientId: bodyId }
}
