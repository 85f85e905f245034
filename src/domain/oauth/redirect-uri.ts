/**
 * Redirect URIs a client may register (OAuth 2.1 §2.3.1, RFC 8252 for native apps): absolute, no
 * fragment, no credentials in the URL; `https`, `http` only on a loopback host, or a private-use
 * scheme in reverse-domain form (`com.example.app:/callback`). Matching is exact string
 * comparison (OAuth 2.1 §4.1.3): no prefix, no pattern, no normalization.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/

/** Why a URI cannot be registered, or undefined when it can. */
export function redirectUriProblem(value: string): string | undefined {
  if (value.length > 2000) return 'is longer than 2000 characters'
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return 'contains whitespace or control characters'
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'is not an absolute URL'
  }
  if (value.includes('#')) return 'must not have a fragment'
  if (url.username || url.password) return 'must not contain credentials'
  if (url.protocol === 'https:') return url.hostname ? undefined : 'has no host'
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'may use http only on a loopback host (localhost, 127.0.0.1, [::1]); use https'
  if (PRIVATE_USE_SCHEME.test(url.protocol)) return undefined
  return 'must be https, http on a loopback host, or a reverse-domain private-use scheme'
}

/** The registered URI the request names, compared exactly; undefined when there is none. */
export function matchRedirectUri(requested: string | undefined, registered: readonly string[]): string | undefined {
  return requested === undefined ? undefined : registered.find((uri) => uri === requested)
}
