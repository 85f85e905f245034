import {
  openPageState,
  sealPageState,
  sessionIdOfSignInCookie,
  signInCookieValue,
  type PageState,
} from '../../domain/oidc/page-state.js'

/** The keys of the sign-in cookie and of the pages' state: made with the first, either verifies (KEK rotation). */
export function createOidcPageKeys(keys: { signInCookie: readonly Buffer[]; pageState: readonly Buffer[] }) {
  return {
    seal: (state: Omit<PageState, 'expiresAt'>, now: Date) => sealPageState(state, keys.pageState[0]!, now),
    open: (sealed: string, csrfCookie: string | undefined, now: Date) => openPageState(sealed, keys.pageState, csrfCookie, now),
    signInCookie: (sessionId: string) => signInCookieValue(sessionId, keys.signInCookie[0]!),
    sessionIdOf: (cookie: string | undefined) => sessionIdOfSignInCookie(cookie, keys.signInCookie),
  }
}

export type OidcPageKeys = ReturnType<typeof createOidcPageKeys>
