import { calculateJwkThumbprint, exportJWK, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { Middleware } from 'openapi-fetch'

/** A DPoP key pair: WebCrypto keys, the private one ideally non-extractable. */
export interface DpopKeyPair {
  privateKey: CryptoKey
  publicKey: CryptoKey
}

/**
 * A new ES256 key pair for DPoP whose private key cannot be exported (`extractable: false`):
 * script can sign with it but never read it, so it cannot be copied out of the page or process.
 * Works in browsers and in Node >= 20 (WebCrypto). A browser app may keep the pair in IndexedDB
 * (structured clone keeps it non-extractable) to stay bound across reloads.
 */
export async function generateDpopKeyPair(): Promise<DpopKeyPair> {
  const pair = await globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
  return pair as unknown as DpopKeyPair
}

/** The JWS `alg` a WebCrypto key signs with. */
function algorithmOf(key: CryptoKey): string {
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } }
  switch (algorithm.name) {
    case 'ECDSA':
      return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[algorithm.namedCurve ?? ''] ?? unsupported(algorithm.name)
    case 'Ed25519':
      return 'EdDSA'
    case 'RSASSA-PKCS1-v1_5':
    case 'RSA-PSS': {
      const bits = algorithm.hash?.name.replace('SHA-', '') ?? ''
      if (!['256', '384', '512'].includes(bits)) return unsupported(algorithm.name)
      return `${algorithm.name === 'RSA-PSS' ? 'PS' : 'RS'}${bits}`
    }
    default:
      return unsupported(algorithm.name)
  }
}

function unsupported(name: string): never {
  throw new TypeError(`A DPoP key must be ECDSA (P-256, P-384, P-521), Ed25519 or RSA with SHA-256/384/512, not ${name}`)
}

const base64url = (bytes: ArrayBuffer) => {
  let binary = ''
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** RFC 9449 §4.2 `ath`: the base64url SHA-256 of the access token. */
async function accessTokenHash(accessToken: string): Promise<string> {
  return base64url(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)))
}

export interface DpopOptions {
  /**
   * The key pair to sign proofs with, or a promise of it (e.g. read from IndexedDB). Default: a new
   * non-extractable ES256 pair (generateDpopKeyPair), made on first use and kept by this object.
   */
  keyPair?: DpopKeyPair | Promise<DpopKeyPair>
}

/** What a request proves: its method and URL, and the access token it carries, if any. */
export interface DpopProofRequest {
  method: string
  url: string
  accessToken?: string | undefined
}

/**
 * A client's DPoP key (RFC 9449) and the last server nonce it saw: signs one proof per request.
 * Give it to `createTollgateClient(baseUrl, { dpop })` and the client sends the proofs itself.
 */
export interface Dpop {
  /** The key pair proofs are signed with. */
  keyPair(): Promise<DpopKeyPair>
  /** The RFC 7638 thumbprint of the public key: the `cnf.jkt` of tokens bound to it. */
  thumbprint(): Promise<string>
  /** The latest `DPoP-Nonce` the server sent, put in every proof from then on. */
  nonce: string | undefined
  /**
   * A proof for one request: `htm`, `htu` (the URL without query or fragment), `iat`, a random
   * `jti`, `ath` when an access token goes with it, and the latest nonce.
   */
  proof(request: DpopProofRequest): Promise<string>
}

/** A DPoP key holder, for `createTollgateClient(baseUrl, { dpop: createDpop() })`. */
export function createDpop(options: DpopOptions = {}): Dpop {
  let pair: Promise<DpopKeyPair> | undefined
  let header: Promise<{ alg: string; jwk: JWK; jkt: string }> | undefined
  const keyPair = () => (pair ??= Promise.resolve(options.keyPair ?? generateDpopKeyPair()))
  const publicHeader = () =>
    (header ??= keyPair().then(async ({ privateKey, publicKey }) => {
      const { kty, crv, x, y, n, e } = await exportJWK(publicKey)
      // Only the public members, in case the runtime exports more.
      const jwk = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined)) as JWK
      return { alg: algorithmOf(privateKey), jwk, jkt: await calculateJwkThumbprint(jwk) }
    }))

  return {
    keyPair,
    async thumbprint() {
      return (await publicHeader()).jkt
    },
    nonce: undefined,
    async proof(request) {
      const [{ privateKey }, { alg, jwk }] = await Promise.all([keyPair(), publicHeader()])
      const url = new URL(request.url)
      const claims: Record<string, unknown> = {
        jti: globalThis.crypto.randomUUID(),
        htm: request.method.toUpperCase(),
        htu: `${url.origin}${url.pathname}`,
        iat: Math.floor(Date.now() / 1000),
      }
      if (request.accessToken !== undefined) claims.ath = await accessTokenHash(request.accessToken)
      if (this.nonce !== undefined) claims.nonce = this.nonce
      return new SignJWT(claims).setProtectedHeader({ typ: 'dpop+jwt', alg, jwk }).sign(privateKey)
    },
  }
}

/** The endpoints that issue tokens: a proof there binds what they issue to the key. */
const TOKEN_ENDPOINTS = new Set(['/oauth/token', '/v1/auth/login', '/v1/auth/refresh'])

const DPOP_AUTHORIZATION = /^DPoP +(\S+)$/i

/**
 * RFC 9449 §8: the server wants its nonce in the proof. A token endpoint says so with a 400
 * `{"error": "use_dpop_nonce"}` (tollgate's /v1 token routes with a 401 problem), a protected
 * resource with a 401 whose `WWW-Authenticate: DPoP` challenge names `error="use_dpop_nonce"`.
 */
async function asksForNonce(response: Response): Promise<boolean> {
  if (!response.headers.has('dpop-nonce')) return false
  if (response.status === 401) return /error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') ?? '')
  if (response.status !== 400) return false
  try {
    const body = (await response.clone().json()) as { error?: unknown }
    return body.error === 'use_dpop_nonce'
  } catch {
    return false
  }
}

/**
 * The client's DPoP middleware: a proof on every token request and on every request with an access
 * token (sent as `Authorization: DPoP`), the server's latest nonce remembered from every answer,
 * and one retry with it when a request was refused for want of it.
 */
export function dpopMiddleware(dpop: Dpop, accessToken: () => Promise<string | undefined>): Middleware {
  // The requests as first sent, for their retry: a body can be read only once.
  const unsent = new Map<string, Request>()

  async function prove(request: Request, schemaPath: string): Promise<Request | undefined> {
    const tokenEndpoint = TOKEN_ENDPOINTS.has(schemaPath)
    const authorization = request.headers.get('authorization')
    let token: string | undefined
    if (authorization !== null) {
      // An explicit `DPoP <token>` gets its proof; Basic client authentication or an explicit Bearer token is left as it is.
      token = DPOP_AUTHORIZATION.exec(authorization)?.[1]
    } else if (!tokenEndpoint && !schemaPath.startsWith('/oauth/')) {
      // As for Bearer: the /oauth endpoints authenticate clients, never with an access token.
      token = await accessToken()
      if (token !== undefined) request.headers.set('authorization', `DPoP ${token}`)
    }
    if (token === undefined && !tokenEndpoint) return undefined
    request.headers.set('dpop', await dpop.proof({ method: request.method, url: request.url, accessToken: token }))
    return request
  }

  return {
    async onRequest({ request, schemaPath, id }) {
      const proved = await prove(request, schemaPath)
      if (proved) unsent.set(id, proved.clone())
      return proved
    },
    async onResponse({ response, id, options }) {
      const original = unsent.get(id)
      unsent.delete(id)
      const nonce = response.headers.get('dpop-nonce')
      if (nonce) dpop.nonce = nonce
      if (original === undefined || !(await asksForNonce(response))) return undefined
      // Once: the same request with a proof carrying the nonce just received.
      const token = DPOP_AUTHORIZATION.exec(original.headers.get('authorization') ?? '')?.[1]
      original.headers.set('dpop', await dpop.proof({ method: original.method, url: original.url, accessToken: token }))
      const retried = await options.fetch(original)
      const next = retried.headers.get('dpop-nonce')
      if (next) dpop.nonce = next
      return retried
    },
    async onError({ id }) {
      unsent.delete(id)
      return undefined
    },
  }
}
