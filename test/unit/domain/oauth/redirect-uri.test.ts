import { describe, expect, it } from 'vitest'
import { matchRedirectUri, redirectUriProblem } from '../../../../src/domain/oauth/redirect-uri.js'

describe('redirectUriProblem', () => {
  it.each([
    'https://app.example/callback',
    'https://app.example:8443/cb?tenant=a',
    'http://localhost:3000/cb',
    'http://127.0.0.1:49152/cb',
    'http://[::1]/cb',
    'com.example.app:/oauth2redirect',
    'https://oauth.pstmn.io/v1/callback',
  ])('%s may be registered', (uri) => {
    expect(redirectUriProblem(uri)).toBeUndefined()
  })

  it.each([
    ['relative', '/callback'],
    ['a fragment', 'https://app.example/cb#frag'],
    ['an empty fragment', 'https://app.example/cb#'],
    ['credentials', 'https://user:pass@app.example/cb'],
    ['a user name alone', 'https://evil.example@app.example/cb'],
    ['http off loopback', 'http://app.example/cb'],
    ['http on a look-alike of loopback', 'http://localhost.evil.example/cb'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,hi'],
    ['a single-word custom scheme', 'myapp:/cb'],
    ['whitespace', 'https://app.example/c b'],
    ['a control character', 'https://app.example/cb\u0000'],
  ])('%s is refused', (_case, uri) => {
    expect(redirectUriProblem(uri)).toEqual(expect.any(String))
  })
})

describe('matchRedirectUri', () => {
  const registered = ['https://app.example/cb', 'http://127.0.0.1:8080/cb']

  it('matches exactly', () => {
    expect(matchRedirectUri('https://app.example/cb', registered)).toBe('https://app.example/cb')
  })

  it.each([
    ['a prefix', 'https://app.example/cb/../evil'],
    ['an extension', 'https://app.example/cbx'],
    ['another query', 'https://app.example/cb?x=1'],
    ['another case', 'https://APP.example/cb'],
    ['a trailing slash', 'https://app.example/cb/'],
    ['a default port spelled out', 'https://app.example:443/cb'],
    ['userinfo in front', 'https://app.example/cb@evil.example'],
    ['another loopback port', 'http://127.0.0.1:9090/cb'],
    ['nothing', undefined],
  ])('does not match %s', (_case, requested) => {
    expect(matchRedirectUri(requested, registered)).toBeUndefined()
  })
})
