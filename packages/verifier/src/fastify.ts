/**
 * @tollgate/verifier/fastify: the Fastify plugin. Needs `fastify` and `fastify-plugin`, the
 * package's optional peer dependencies.
 *
 * @packageDocumentation
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { TokenVerificationError } from './errors.js'
import { accessTokenOf, createVerifier, type VerifiedClaims, type Verifier, type VerifierOptions } from './verifier.js'

/** Who made the request, as the access token says. */
export interface VerifiedIdentity {
  claims: VerifiedClaims
  /** The user id (or the client id for client_credentials tokens). */
  subject: string
  clientId: string
  scopes: string[]
  /** The session of a user token; undefined for client_credentials tokens. */
  sessionId: string | undefined
  /** How the token was presented: `dpop` for a DPoP-bound token with a valid proof. */
  scheme: 'bearer' | 'dpop'
}

/** What the plugin decorates the instance with, as `app.tollgate`. */
export interface TollgateAuth {
  verifier: Verifier
  /** preHandler: verifies the access token (Bearer, or DPoP with its proof) and sets `request.auth`, or answers 401 (503 when keys or the replay cache are unreachable). */
  authenticate: preHandlerAsyncHookHandler
  /** preHandler factory: authenticates, then answers 403 insufficient_scope unless every scope given is granted. */
  requireScope(...scopes: string[]): preHandlerAsyncHookHandler
}

/** Options of the {@link tollgateAuth} plugin: a ready verifier, or the options to create one. */
export type TollgateAuthOptions = ({ verifier: Verifier } | { verifierOptions: VerifierOptions }) & {
  /** The realm of the WWW-Authenticate challenge: default 'tollgate'. */
  realm?: string
  /**
   * The service's public origin as clients address it, with any path prefix a proxy removes
   * (`https://api.example.com/orders`): a DPoP proof's `htu` must be it followed by the request's
   * path. Default: the request's own protocol and Host, which the client chooses: set this in
   * production, so a proof made for another service that accepts the same tokens cannot be
   * replayed here under a forged Host (and behind a proxy, where the Host is the proxy's).
   */
  publicUrl?: string
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Access-token authentication backed by tollgate's JWKS (see tollgate/verifier). */
    tollgate: TollgateAuth
  }
  interface FastifyRequest {
    /** The verified identity after `app.tollgate.authenticate`; null before. */
    auth: VerifiedIdentity | null
  }
}

/** A `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9449 §7.1); DPoP's names the accepted `algs`. */
function challenge(scheme: 'Bearer' | 'DPoP', realm: string, error?: { code: string; description: string; scope?: string }, algs?: readonly string[]): string {
  const parts = [`realm="${realm}"`]
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description.replace(/["\\]/g, '')}"`)
  if (error?.scope) parts.push(`scope="${error.scope}"`)
  if (scheme === 'DPoP' && algs) parts.push(`algs="${algs.join(' ')}"`)
  return `${scheme} ${parts.join(', ')}`
}

function problem(reply: FastifyReply, status: number, code: string, title: string, headers: Record<string, string> = {}) {
  return reply
    .code(status)
    .headers(headers)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, code })
}

/**
 * Fastify plugin: decorates `app.tollgate` ({@link TollgateAuth}) and `request.auth`
 * ({@link VerifiedIdentity}). Routes opt in with `preHandler: app.tollgate.requireScope('cart')`
 * (or `app.tollgate.authenticate` for any valid token). Tokens come as `Bearer`, or as `DPoP` with
 * a proof (RFC 9449: see {@link Verifier.verifyRequest}; a bound token as Bearer is refused).
 * Failures follow RFC 6750 and RFC 9449: 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 * (`DPoP error="invalid_token"` or `"invalid_dpop_proof"`, with `algs`, for DPoP), 403 with
 * `error="insufficient_scope"`, 503 when keys, revocations or the DPoP replay cache are unreachable.
 * The verifier it creates from `verifierOptions` is closed with the app.
 */
export const tollgateAuth = fp<TollgateAuthOptions>(
  async (app: FastifyInstance, options) => {
    const owned = 'verifierOptions' in options
    const verifier = owned ? createVerifier(options.verifierOptions) : options.verifier
    const realm = options.realm ?? 'tollgate'
    if (owned) app.addHook('onClose', async () => verifier.close())

    app.decorateRequest('auth', null)

    const urlOf = (request: FastifyRequest) =>
      options.publicUrl ? `${options.publicUrl.replace(/\/+$/, '')}${request.url}` : `${request.protocol}://${request.host}${request.url}`

    async function authenticate(request: FastifyRequest, reply: FastifyReply) {
      if (request.auth) return
      const presented = accessTokenOf(request.headers.authorization)
      if (!presented) {
        return problem(reply, 401, 'invalid_token', 'An access token is required', {
          'www-authenticate': `${challenge('Bearer', realm)}, ${challenge('DPoP', realm, undefined, verifier.dpopAlgorithms)}`,
        })
      }
      try {
        const claims = await verifier.verifyRequest({ authorization: request.headers.authorization, dpop: request.headers.dpop, method: request.method, url: urlOf(request) })
        request.auth = {
          claims,
          subject: claims.sub,
          clientId: claims.client_id,
          scopes: claims.scope.split(' ').filter(Boolean),
          sessionId: claims.sid,
          scheme: presented.scheme,
        }
      } catch (error) {
        if (!(error instanceof TokenVerificationError)) throw error
        if (error.unavailable) {
          request.log.warn({ code: error.code }, 'access token could not be verified')
          return problem(reply, 503, 'service_unavailable', 'Token verification is unavailable', { 'retry-after': '5' })
        }
        // RFC 9449 §7.1: a DPoP challenge when the token came as DPoP or had to (it is bound).
        const dpop = presented.scheme === 'dpop' || error.code === 'dpop_bound_token'
        const code = error.code === 'invalid_dpop_proof' ? 'invalid_dpop_proof' : 'invalid_token'
        return problem(reply, 401, code, code === 'invalid_token' ? 'The access token is invalid, expired or revoked' : 'The DPoP proof is invalid', {
          'www-authenticate': challenge(dpop ? 'DPoP' : 'Bearer', realm, { code, description: error.message }, verifier.dpopAlgorithms),
        })
      }
    }

    app.decorate('tollgate', {
      verifier,
      authenticate,
      requireScope(...scopes: string[]) {
        return async function requireScope(request: FastifyRequest, reply: FastifyReply) {
          await authenticate(request, reply)
          if (reply.sent || !request.auth) return
          const granted = request.auth.scopes
          if (!scopes.every((scope) => granted.includes(scope))) {
            return problem(reply, 403, 'insufficient_scope', 'The access token lacks the required scope', {
              'www-authenticate': challenge(request.auth.scheme === 'dpop' ? 'DPoP' : 'Bearer', realm, { code: 'insufficient_scope', description: `This request needs the scope ${scopes.join(' ')}`, scope: scopes.join(' ') }, verifier.dpopAlgorithms),
            })
          }
        }
      },
    } satisfies TollgateAuth)
  },
  { name: 'tollgate-auth', fastify: '5.x' },
)
