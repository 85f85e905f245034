/**
 * @tollgate/verifier/fastify: the Fastify plugin. Needs `fastify` and `fastify-plugin`, the
 * package's optional peer dependencies.
 *
 * @packageDocumentation
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { TokenVerificationError } from './errors.js'
import { createVerifier, type VerifiedClaims, type Verifier, type VerifierOptions } from './verifier.js'

/** Who made the request, as the access token says. */
export interface VerifiedIdentity {
  claims: VerifiedClaims
  /** The user id (or the client id for client_credentials tokens). */
  subject: string
  clientId: string
  scopes: string[]
  /** The session of a user token; undefined for client_credentials tokens. */
  sessionId: string | undefined
}

/** What the plugin decorates the instance with, as `app.tollgate`. */
export interface TollgateAuth {
  verifier: Verifier
  /** preHandler: verifies the bearer token and sets `request.auth`, or answers 401 (503 when keys are unreachable). */
  authenticate: preHandlerAsyncHookHandler
  /** preHandler factory: authenticates, then answers 403 insufficient_scope unless every scope given is granted. */
  requireScope(...scopes: string[]): preHandlerAsyncHookHandler
}

/** Options of the {@link tollgateAuth} plugin: a ready verifier, or the options to create one. */
export type TollgateAuthOptions = ({ verifier: Verifier } | { verifierOptions: VerifierOptions }) & {
  /** The realm of the WWW-Authenticate challenge: default 'tollgate'. */
  realm?: string
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

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i

function challenge(realm: string, error: string, description: string, scope?: string): string {
  const parts = [`realm="${realm}"`, `error="${error}"`, `error_description="${description.replace(/["\\]/g, '')}"`]
  if (scope) parts.push(`scope="${scope}"`)
  return `Bearer ${parts.join(', ')}`
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
 * (or `app.tollgate.authenticate` for any valid token). Failures follow RFC 6750: 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"`, 403 with `error="insufficient_scope"`.
 * The verifier it creates from `verifierOptions` is closed with the app.
 */
export const tollgateAuth = fp<TollgateAuthOptions>(
  async (app: FastifyInstance, options) => {
    const owned = 'verifierOptions' in options
    const verifier = owned ? createVerifier(options.verifierOptions) : options.verifier
    const realm = options.realm ?? 'tollgate'
    if (owned) app.addHook('onClose', async () => verifier.close())

    app.decorateRequest('auth', null)

    async function authenticate(request: FastifyRequest, reply: FastifyReply) {
      if (request.auth) return
      const token = request.headers.authorization ? BEARER.exec(request.headers.authorization)?.[1] : undefined
      if (!token) {
        return problem(reply, 401, 'invalid_token', 'A bearer access token is required', {
          'www-authenticate': `Bearer realm="${realm}"`,
        })
      }
      try {
        const claims = await verifier.verify(token)
        request.auth = {
          claims,
          subject: claims.sub,
          clientId: claims.client_id,
          scopes: claims.scope.split(' ').filter(Boolean),
          sessionId: claims.sid,
        }
      } catch (error) {
        if (!(error instanceof TokenVerificationError)) throw error
        if (error.unavailable) {
          request.log.warn({ code: error.code }, 'access token could not be verified')
          return problem(reply, 503, 'service_unavailable', 'Token verification is unavailable', { 'retry-after': '5' })
        }
        return problem(reply, 401, 'invalid_token', 'The access token is invalid, expired or revoked', {
          'www-authenticate': challenge(realm, 'invalid_token', error.message),
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
              'www-authenticate': challenge(realm, 'insufficient_scope', `This request needs the scope ${scopes.join(' ')}`, scopes.join(' ')),
            })
          }
        }
      },
    } satisfies TollgateAuth)
  },
  { name: 'tollgate-auth', fastify: '5.x' },
)
