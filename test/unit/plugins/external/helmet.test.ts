import type { FastifyReply } from 'fastify'
import { describe, expect, it } from 'vitest'
import { carriesToken } from '../../../../src/plugins/external/helmet.js'

const noCookies = { getHeader: () => undefined } as unknown as FastifyReply
const jwks = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', kid: 'a', alg: 'ES256', use: 'sig' }] })

describe('carriesToken (the no-store safety net)', () => {
  it('sees a token body whatever string was checked before it, and a clean one sent again stays clean', () => {
    expect(carriesToken(noCookies, jwks)).toBe(false)
    expect(carriesToken(noCookies, jwks)).toBe(false)
    const tokens = '{"access_token":"eyJ.x.y","token_type":"Bearer","expires_in":600}'
    expect(carriesToken(noCookies, tokens)).toBe(true)
    expect(carriesToken(noCookies, tokens)).toBe(true)
    expect(carriesToken(noCookies, jwks)).toBe(false)
    // An equal string built anew (another object) is judged by its content, not its identity.
    expect(carriesToken(noCookies, `{"refresh_token" : "abc"}`.slice(0))).toBe(true)
    expect(carriesToken(noCookies, Buffer.from(tokens))).toBe(true)
  })

  it('sees a refresh cookie on any body', () => {
    const withCookie = { getHeader: (name: string) => (name === 'set-cookie' ? ['tollgate_refresh=abc; Path=/v1/auth; HttpOnly'] : undefined) } as unknown as FastifyReply
    expect(carriesToken(withCookie, jwks)).toBe(true)
  })
})
