// Generated from openapi.yaml by `npm run client:generate` (openapi-typescript): do not edit.
export interface paths {
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This OpenAPI document
         * @description The OpenAPI 3.1 document of this API, as JSON: the same document as `openapi.yaml` in the package.
         */
        get: operations["getOpenApiDocument"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description Prometheus text exposition format: `http_requests_total` and `http_request_duration_seconds` by route template and status, security events, rate-limit rejections, and process metrics. Keep it off the public internet.
         */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness
         * @description Answers 200 while the process runs; touches nothing else and never sheds load.
         */
        get: operations["liveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness
         * @description Answers 200 when the database answers within about a second, 503 otherwise (at once while an outage is known), and 503 from the moment the instance is asked to stop (it keeps serving for a drain delay): take the instance out of rotation while it is 503.
         */
        get: operations["readiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * JSON Web Key Set
         * @description The public keys that verify access tokens and the revocations feed, for every configured algorithm: the next key (published before it signs), the active key, and retired keys until every token they signed has expired. Cache-Control max-age follows the rotation schedule; send If-None-Match with the ETag for a 304.
         */
        get: operations["getJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/oauth-authorization-server": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * OAuth 2.0 authorization server metadata
         * @description RFC 8414 metadata: the endpoints, grants, client authentication methods and scopes.
         */
        get: operations["getAuthorizationServerMetadata"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/openid-configuration": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * OpenID Connect discovery document
         * @description OpenID Connect Discovery 1.0: everything a relying party (openid-client, oauth4webapi, Grafana, oauth2-proxy, Postman) needs to sign users in with tollgate, a superset of the RFC 8414 metadata.
         */
        get: operations["getOpenIdConfiguration"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account
         * @description Creates an account. The email is trimmed and lower-cased (emails are one account whatever their case); the password must be 8 to 256 characters and not a commonly used one (else 400 `weak_password`). Registering does not log in: call `POST /v1/auth/login` next.
         */
        post: operations["register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in with email and password
         * @description Starts a session: answers a token response and sets the tollgate_refresh cookie (HttpOnly, SameSite=Strict, Path=/v1/auth), except for a request from another site (an Origin neither the issuer's nor allowed, or Sec-Fetch-Site: cross-site). An unknown email and a wrong password get the same 401 `invalid_credentials`, after the same work. Failed logins (successful ones are not counted) are throttled per account and per address (429 with Retry-After). A new session beyond the per-user limit evicts the oldest. With a `DPoP` proof the session is bound to its key: `token_type: DPoP`, and its refresh token rotates only with a proof from that key (401 `invalid_dpop_proof` for a bad proof, `use_dpop_nonce` with a `DPoP-Nonce` when the server wants its nonce in the proof).
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change the password
         * @description Needs the current password (a wrong one is 401 `invalid_credentials`, recorded as a `password_change_failed` event, and spends the account's failed-login budget: 429 once it is spent). Revokes every other session of the user; the current one stays. A login that verified the old password while the change was in flight gets no session (401 `invalid_credentials`), and of two changes racing with the same current password only the first succeeds. The new password follows the rules of registration.
         */
        post: operations["changePassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate the refresh token
         * @description Exchanges the refresh token (body refresh_token, or the tollgate_refresh cookie) for a new access token and the session's next refresh token, and sets the cookie again. The presented token stops working; presented again within the grace window (several tabs, a retry) by the client that rotated it (same user agent, same /24 or /64 network) it gets the same successor; from any other client, after the window, or once that successor was rotated in turn, the whole session is revoked (401 invalid_grant). A cookie-authenticated request from another site is refused with 403 forbidden_origin, and a request from another site never sets the cookie. The refresh token of a session bound to a DPoP key rotates only with a `DPoP` proof from that key: without one, or with another key's, it is 401 `invalid_grant` (a `dpop_key_mismatch` event) and the session stays its owner's.
         */
        post: operations["refreshToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log out
         * @description Revokes the session of the refresh token (body refresh_token, or the cookie) or, with neither, of the bearer access token, and clears the cookie (unless the request comes from another site). Answers 204 also when the session had already ended; with no credential at all it is 401 `invalid_token`.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List your sessions
         * @description Your live sessions (not revoked, not expired), newest first; `current` marks the one of the access token used.
         */
        get: operations["listSessions"];
        put?: never;
        post?: never;
        /**
         * Log out everywhere else
         * @description Revokes every session of yours except the current one.
         */
        delete: operations["revokeOtherSessions"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke one of your sessions
         * @description Revokes one of your live sessions (possibly the current one). Any other id, another user's included, is 404.
         */
        delete: operations["revokeSession"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List your security events
         * @description Your latest 100 security events, newest first: logins, failed logins, refresh-token reuse, revoked and flagged sessions, password changes.
         */
        get: operations["listSecurityEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Your account
         * @description The account of the access token's user.
         */
        get: operations["getMe"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/cart/items": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the items in your cart
         * @description The items and the cart version; the version is also the ETag, and If-None-Match gets a 304 when nothing changed.
         */
        get: operations["listCartItems"];
        put?: never;
        /**
         * Add an item to your cart
         * @description Adds a sku, or adds to its quantity when it is already in the cart (atomically: concurrent adds never lose an update). A total above 999 is 422 and changes nothing. Honours If-Match against the cart version (the ETag of GET /v1/cart/items): 412 if it changed. With an Idempotency-Key, a retry (the reply was lost, the connection dropped) gets the first answer, from any instance, and adds nothing.
         */
        post: operations["addCartItem"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/cart/items/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Remove an item from your cart
         * @description Removes the item; its id is then 404. Honours If-Match against the cart version (the ETag of GET /v1/cart/items): 412 if it changed.
         */
        delete: operations["deleteCartItem"];
        options?: never;
        head?: never;
        /**
         * Set the quantity of an item
         * @description Replaces the item's quantity. Honours If-Match against the cart version (the ETag of GET /v1/cart/items): 412 if it changed.
         */
        patch: operations["updateCartItem"];
        trace?: never;
    };
    "/v1/cart": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Empty your cart
         * @description Removes every item (an empty cart is fine) and bumps the version. Honours If-Match against the cart version (the ETag of GET /v1/cart/items): 412 if it changed.
         */
        delete: operations["clearCart"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/revocations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Revocations feed
         * @description A JWT (typ revocations+jwt, signed with the current key, verifiable with the JWKS) whose claims `sids` and `jtis` list the sessions and access tokens revoked while tokens of theirs may still be unexpired; also `iss`, `iat`, `exp`. Stateless verifiers poll it (with If-None-Match) so a revoked session's access tokens stop working within seconds.
         */
        get: operations["getRevocations"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Find users
         * @description Users whose email contains `email`, or the one with `id`, or all, in creation order, `limit` at a time: follow `nextCursor` for the next page. A cursor this service did not hand out is 400.
         */
        get: operations["adminFindUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read a user
         * @description The account, its live sessions (device, address, created, last used, flagged, bound) and its latest security events.
         */
        get: operations["adminGetUser"];
        put?: never;
        post?: never;
        /**
         * Erase a user
         * @description Deletes the account and everything of it (sessions, refresh tokens, cart, security events) in one transaction. Only the ids of its sessions stay, while their access tokens may be unexpired, so that the revocations feed keeps refusing them, and one `user_erased` security event naming the erased id and the client, for the audit trail. Cannot be undone.
         */
        delete: operations["adminEraseUser"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/users/{id}/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Sign a user out everywhere
         * @description Revokes every live session of the user, as their own logout would: their access tokens are refused by tollgate at once and by other services once they read the revocations feed. The user can log in again (disable them to prevent that).
         */
        delete: operations["adminRevokeUserSessions"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke a session
         * @description Revokes one session of any user, as its logout would. A session that already ended answers 204 too; an unknown id is 404.
         */
        delete: operations["adminRevokeSession"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/users/{id}/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Disable a user
         * @description The user can no longer log in, refresh or complete an authorization, and every session of theirs is revoked, in one step. Disabling a disabled user changes nothing.
         */
        post: operations["adminDisableUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/v1/users/{id}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Enable a user
         * @description A disabled user can log in again. Their sessions revoked by the disabling stay revoked.
         */
        post: operations["adminEnableUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/authorize": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Authorization endpoint
         * @description RFC 6749 §4.1 with OAuth 2.1's rules and OpenID Connect Core §3.1.2: `response_type=code` only, PKCE `S256` required of every client, `redirect_uri` exactly one of the client's. An unknown client or an unregistered `redirect_uri` gets an error page (400), never a redirect; every other error redirects back with `error`, `error_description`, `state` and `iss` (RFC 9207). A browser that is not signed in (or must sign in again: `prompt=login`, `max_age`) gets the login page; a third-party client the user has not consented to gets the consent page; otherwise the answer is a 303 to the redirect URI with `code`, `state` and `iss`.
         */
        get: operations["authorize"];
        put?: never;
        /**
         * Authorization endpoint (form post)
         * @description The same as GET, with the parameters in a form-encoded body (OpenID Connect Core §3.1.2.1). RFC 6749 §4.1 with OAuth 2.1's rules and OpenID Connect Core §3.1.2: `response_type=code` only, PKCE `S256` required of every client, `redirect_uri` exactly one of the client's. An unknown client or an unregistered `redirect_uri` gets an error page (400), never a redirect; every other error redirects back with `error`, `error_description`, `state` and `iss` (RFC 9207). A browser that is not signed in (or must sign in again: `prompt=login`, `max_age`) gets the login page; a third-party client the user has not consented to gets the consent page; otherwise the answer is a 303 to the redirect URI with `code`, `state` and `iss`.
         */
        post: operations["authorizeWithForm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The login page's form
         * @description What the login page posts: email and password, with the page's hidden `interaction` field (the authorization request, bound to this browser's CSRF cookie; from another site or another browser: 403). The same checks, brute-force limits (shared counters) and security events as `POST /v1/auth/login`; a refused password shows the page again with the same message whatever the cause. Signing in starts a sign-in session (listed in `/v1/auth/sessions`) carried by the tollgate_sign_in cookie (HttpOnly, SameSite=Lax, Path=/oauth); then the consent page, or a 303 to the client with the code.
         */
        post: operations["signIn"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/consent": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The consent page's form
         * @description What the consent page posts: `decision=allow` (remembered for this client and these scopes; a 303 with the code) or `deny` (a 303 with `error=access_denied`), with the page's hidden `interaction` field, valid only in the browser and for the sign-in it was shown to.
         */
        post: operations["consent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/userinfo": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * UserInfo endpoint
         * @description OpenID Connect Core §5.3: the signed-in user's claims that the access token's scopes allow: `sub` always, `name` with `profile`, `email` and `email_verified` with `email`. A bearer access token with `openid` (any audience: the client's own included), in the Authorization header (or, on POST, the `access_token` form field); a bad, expired or revoked one, or one whose session ended, is 401 `invalid_token`; one without `openid` 403 `insufficient_scope`. A token bound to a DPoP key is accepted only as `Authorization: DPoP` with a proof from that key (as a bearer token, 401 `invalid_token` with a DPoP challenge; a bad proof 401 `invalid_dpop_proof`).
         */
        get: operations["getUserInfo"];
        put?: never;
        /**
         * UserInfo endpoint (POST)
         * @description The same as GET. OpenID Connect Core §5.3: the signed-in user's claims that the access token's scopes allow: `sub` always, `name` with `profile`, `email` and `email_verified` with `email`. A bearer access token with `openid` (any audience: the client's own included), in the Authorization header (or, on POST, the `access_token` form field); a bad, expired or revoked one, or one whose session ended, is 401 `invalid_token`; one without `openid` 403 `insufficient_scope`. A token bound to a DPoP key is accepted only as `Authorization: DPoP` with a proof from that key (as a bearer token, 401 `invalid_token` with a DPoP challenge; a bad proof 401 `invalid_dpop_proof`).
         */
        post: operations["postUserInfo"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * End-session endpoint (RP-initiated logout)
         * @description OpenID Connect RP-Initiated Logout 1.0: ends the browser's sign-in at tollgate (the tollgate_sign_in cookie) and revokes every session started from it. With a valid `id_token_hint` (expired or not) it happens at once; without one, a confirmation page asks the user. `post_logout_redirect_uri` must be exactly one of the client's registered ones (then a 303 there, with `state`); without it, a "signed out" page. A hint tollgate did not sign, or an unregistered URI, gets an error page, never a redirect.
         */
        get: operations["endSession"];
        put?: never;
        /**
         * End-session endpoint (form post)
         * @description The same as GET, form-encoded; also what the confirmation page posts (its hidden `interaction` field, valid only in this browser). OpenID Connect RP-Initiated Logout 1.0: ends the browser's sign-in at tollgate (the tollgate_sign_in cookie) and revokes every session started from it. With a valid `id_token_hint` (expired or not) it happens at once; without one, a confirmation page asks the user. `post_logout_redirect_uri` must be exactly one of the client's registered ones (then a 303 there, with `state`); without it, a "signed out" page. A hint tollgate did not sign, or an unregistered URI, gets an error page, never a redirect.
         */
        post: operations["endSessionWithForm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Token endpoint
         * @description RFC 6749 token endpoint. `client_credentials`: a confidential client authenticates (HTTP Basic or `client_secret_post`) and gets an access token whose `sub` is its client id, with `scope` within the client's. `refresh_token`: rotates a refresh token exactly like `POST /v1/auth/refresh`; first-party tokens belong to a public client, so `client_id` alone is enough. `password` and other grants: 400 `unsupported_grant_type`. Bad client: 401 `invalid_client`. With a `DPoP` proof (every grant) the tokens are bound to its key (`token_type: DPoP`); a bound refresh token rotates only with a proof from its key; a bad proof is 400 `invalid_dpop_proof`, and `use_dpop_nonce` (with `DPoP-Nonce`) asks for the proof again with the server's nonce.
         */
        post: operations["oauthToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Token revocation
         * @description RFC 7009. Revoking a refresh token revokes its whole session; revoking an access token makes introspection report it inactive (and lists it in `/v1/revocations`) until it expires. A client revokes only its own tokens; unknown, invalid or foreign tokens still get 200.
         */
        post: operations["oauthRevoke"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/introspect": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Token introspection
         * @description RFC 7662; a confidential client must authenticate. `{active: false}` for anything invalid, expired or revoked, and for a token not meant for the asking client (its `aud` names neither the client nor the client's audience, and the client did not obtain it: a refresh token only to its own client), and nothing more; otherwise the token's claims.
         */
        post: operations["oauthIntrospect"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * Problem
         * @description RFC 9457 problem details (`application/problem+json`) with a stable `code`.
         */
        Problem: {
            /**
             * @description A URN naming the problem type: `urn:tollgate:problem:` followed by the code.
             * @example urn:tollgate:problem:email_taken
             */
            type: string;
            /** @description A short summary of the problem type; the same for every occurrence of a code. */
            title: string;
            /** @description The HTTP status code, repeated. */
            status: number;
            /** @description What went wrong with this request, for a human. Do not parse it: use `code`. */
            detail: string;
            /**
             * @description Stable machine-readable code: branch on this. The same codes are listed by each operation.
             * @enum {string}
             */
            code: "validation_failed" | "weak_password" | "invalid_credentials" | "invalid_grant" | "invalid_token" | "invalid_dpop_proof" | "use_dpop_nonce" | "insufficient_scope" | "forbidden_origin" | "invalid_form" | "not_found" | "method_not_allowed" | "email_taken" | "precondition_failed" | "payload_too_large" | "unsupported_media_type" | "quantity_limit_exceeded" | "idempotency_key_reused" | "rate_limited" | "internal_error" | "service_unavailable";
        };
        /**
         * OAuthError
         * @description RFC 6749 §5.2 error response, sent by the /oauth endpoints.
         */
        OAuthError: {
            /**
             * @description An RFC 6749 §5.2 (or RFC 7009 / RFC 7662) error code.
             * @enum {string}
             */
            error: "invalid_request" | "invalid_client" | "invalid_grant" | "unauthorized_client" | "unsupported_grant_type" | "invalid_scope" | "unsupported_token_type" | "invalid_dpop_proof" | "use_dpop_nonce" | "invalid_token" | "insufficient_scope" | "server_error" | "temporarily_unavailable";
            /** @description Human-readable detail. Absent on server errors. */
            error_description?: string;
        };
        /** Status */
        Status: {
            /** @enum {string} */
            status: "ok";
        };
        /**
         * PublicJwk
         * @description A public signing key (RFC 7517): never a private member (d, p, q, dp, dq, qi, k).
         */
        PublicJwk: {
            /** @description EC (P-256), RSA or OKP (Ed25519) */
            kty: string;
            /** @description RFC 7638 thumbprint of the key */
            kid: string;
            /** @description ES256, RS256 or EdDSA: the set holds keys of every configured algorithm (SIGNING_ALGORITHMS) */
            alg: string;
            /** @enum {string} */
            use: "sig";
            crv?: string;
            x?: string;
            y?: string;
            n?: string;
            e?: string;
        };
        /**
         * Jwks
         * @description The published public keys (RFC 7517), with Cache-Control max-age and an ETag
         */
        Jwks: {
            keys: components["schemas"]["PublicJwk"][];
        };
        /**
         * AuthorizationServerMetadata
         * @description RFC 8414 authorization server metadata
         */
        AuthorizationServerMetadata: {
            issuer: string;
            authorization_endpoint: string;
            token_endpoint: string;
            jwks_uri: string;
            revocation_endpoint: string;
            introspection_endpoint: string;
            grant_types_supported: string[];
            response_types_supported: string[];
            response_modes_supported: string[];
            code_challenge_methods_supported: string[];
            token_endpoint_auth_methods_supported: string[];
            revocation_endpoint_auth_methods_supported: string[];
            introspection_endpoint_auth_methods_supported: string[];
            scopes_supported: string[];
            /** @description The algorithms access tokens may be signed with (SIGNING_ALGORITHMS): the first is the default, a client or audience registered for another gets tokens signed with it. Every one of them has keys in the JWKS. */
            access_token_signing_alg_values_supported: string[];
            /** @description RFC 9449 §5.1: the algorithms a DPoP proof may be signed with. A token request with a proof gets tokens bound to its key. */
            dpop_signing_alg_values_supported: string[];
            /** @description RFC 9207: every authorization response carries `iss`. */
            authorization_response_iss_parameter_supported: boolean;
            /** @description The API reference; absent when this instance does not serve it (API_DOCS=false) */
            service_documentation?: string;
        };
        /**
         * OpenIdConfiguration
         * @description OpenID Connect Discovery 1.0 provider metadata: the RFC 8414 document and the OpenID Connect members
         */
        OpenIdConfiguration: {
            issuer: string;
            authorization_endpoint: string;
            token_endpoint: string;
            jwks_uri: string;
            revocation_endpoint: string;
            introspection_endpoint: string;
            grant_types_supported: string[];
            response_types_supported: string[];
            response_modes_supported: string[];
            code_challenge_methods_supported: string[];
            token_endpoint_auth_methods_supported: string[];
            revocation_endpoint_auth_methods_supported: string[];
            introspection_endpoint_auth_methods_supported: string[];
            scopes_supported: string[];
            /** @description The algorithms access tokens may be signed with (SIGNING_ALGORITHMS): the first is the default, a client or audience registered for another gets tokens signed with it. Every one of them has keys in the JWKS. */
            access_token_signing_alg_values_supported: string[];
            /** @description RFC 9449 §5.1: the algorithms a DPoP proof may be signed with. A token request with a proof gets tokens bound to its key. */
            dpop_signing_alg_values_supported: string[];
            /** @description RFC 9207: every authorization response carries `iss`. */
            authorization_response_iss_parameter_supported: boolean;
            /** @description The API reference; absent when this instance does not serve it (API_DOCS=false) */
            service_documentation?: string;
            userinfo_endpoint: string;
            /** @description RP-Initiated Logout 1.0 */
            end_session_endpoint: string;
            subject_types_supported: string[];
            /** @description Every configured algorithm (SIGNING_ALGORITHMS): a client may register any of them as its id_token_signed_response_alg. The first is what a client that registered none gets (RS256 when configured). */
            id_token_signing_alg_values_supported: string[];
            claims_supported: string[];
            prompt_values_supported: string[];
            claims_parameter_supported: boolean;
            request_parameter_supported: boolean;
            request_uri_parameter_supported: boolean;
        };
        /**
         * User
         * @description An account.
         */
        User: {
            /**
             * Format: uuid
             * @description The user id: the `sub` claim of the user's access tokens.
             */
            id: string;
            /** @description Trimmed and lower-cased. */
            email: string;
            /** @description The display name, or null. */
            name: string | null;
            /** Format: date-time */
            createdAt: string;
        };
        /**
         * TokenResponse
         * @description A new access token and the session's current refresh token. Sent with `Cache-Control: no-store`.
         */
        TokenResponse: {
            /** @description A JWT access token (RFC 9068 profile): send it as `Authorization: Bearer <access_token>`, or as `Authorization: DPoP <access_token>` with a proof when `token_type` is `DPoP`. */
            access_token: string;
            /** @description `DPoP` when the request carried a DPoP proof (RFC 9449): the access token (`cnf.jkt`) and the session's refresh tokens are bound to its key. */
            token_type: "Bearer" | "DPoP";
            /** @description Seconds until the access token expires. */
            expires_in: number;
            /** @description Opaque; rotates on every refresh: keep only the newest. Also set as the tollgate_refresh cookie. */
            refresh_token: string;
            /** @description The scopes of the access token, space-separated. */
            scope: string;
        };
        /**
         * Session
         * @description One login and everything refreshed from it.
         */
        Session: {
            /**
             * Format: uuid
             * @description The sid claim of the access tokens of this session.
             */
            id: string;
            /** @description True for the session of the access token making the request. */
            current: boolean;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            lastUsedAt: string;
            /**
             * Format: date-time
             * @description The earlier of the idle and the absolute expiry.
             */
            expiresAt: string;
            userAgent: string | null;
            ip: string | null;
            /** @description A refresh came from another network (/24, /64) or another user agent than the session had seen. */
            flagged: boolean;
            /** @description The session is bound to a DPoP key (RFC 9449: its login sent a proof): its refresh token rotates only with a proof from that key, and its access tokens are used only as `Authorization: DPoP` with one. */
            bound: boolean;
        };
        /** SessionList */
        SessionList: {
            sessions: components["schemas"]["Session"][];
        };
        /** SecurityEvent */
        SecurityEvent: {
            /**
             * @description What happened. `refresh_token_reused`: an old refresh token was presented again, and its session revoked.
             * @enum {string}
             */
            type: "login_succeeded" | "login_failed" | "refresh_token_reused" | "dpop_key_mismatch" | "session_revoked" | "session_flagged" | "password_changed" | "password_change_failed" | "users_searched" | "user_viewed" | "user_disabled" | "user_enabled" | "user_erased";
            /** Format: date-time */
            at: string;
            /** @description The client address of the request that caused the event. */
            ip: string | null;
            userAgent: string | null;
            /** @description The session concerned: an `id` of the sessions list. */
            sessionId: string | null;
        };
        /** SecurityEventList */
        SecurityEventList: {
            /** @description Newest first. */
            events: components["schemas"]["SecurityEvent"][];
        };
        /**
         * CartItem
         * @description One sku in your cart, with its quantity.
         * @example {
         *       "id": "5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a",
         *       "sku": "TEA-EARL-GREY-250G",
         *       "quantity": 2,
         *       "createdAt": "2025-03-14T09:30:00.000Z",
         *       "updatedAt": "2025-03-14T09:31:12.500Z"
         *     }
         */
        CartItem: {
            /**
             * Format: uuid
             * @description The item id, for PATCH and DELETE /v1/cart/items/{id}.
             */
            id: string;
            /** @description The product's stock-keeping unit. */
            sku: string;
            quantity: number;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
        };
        /** Cart */
        Cart: {
            /** @description Oldest first (by createdAt, then id). */
            items: components["schemas"]["CartItem"][];
            /** @description Bumped by every change; the same value as the ETag, unquoted. */
            version: number;
        };
        /**
         * AdminUser
         * @description An account, as operators see it.
         * @example {
         *       "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
         *       "email": "ada@example.com",
         *       "name": "Ada Lovelace",
         *       "createdAt": "2025-03-14T09:26:53.589Z",
         *       "disabled": false,
         *       "disabledAt": null
         *     }
         */
        AdminUser: {
            /** Format: uuid */
            id: string;
            email: string;
            name: string | null;
            /** Format: date-time */
            createdAt: string;
            /** @description A disabled user cannot log in, refresh or complete an authorization. */
            disabled: boolean;
            disabledAt: string | null;
        };
        /** UserPage */
        UserPage: {
            /** @description In creation order. */
            users: components["schemas"]["AdminUser"][];
            /** @description Pass as `cursor` for the next page; null on the last page. */
            nextCursor: string | null;
        };
        /**
         * AdminSession
         * @description A live session of a user.
         */
        AdminSession: {
            /**
             * Format: uuid
             * @description The session id: the `sid` claim of its access tokens.
             */
            id: string;
            /** @description The client the session was started for. */
            clientId: string;
            /**
             * @description `tokens`: a refresh-token family (a login, a code redemption); `sign_in`: a browser's sign-in at tollgate's own pages.
             * @enum {string}
             */
            kind: "tokens" | "sign_in";
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            lastUsedAt: string;
            /**
             * Format: date-time
             * @description The earlier of the idle and the absolute expiry.
             */
            expiresAt: string;
            /** @description The device, as its user agent last said. */
            userAgent: string | null;
            /** @description The address it was last used from. */
            ip: string | null;
            /** @description A refresh came from another network and another user agent than the session had seen. */
            flagged: boolean;
            /** @description Its tokens are sender-constrained: bound to the DPoP key (RFC 9449) its login or code redemption sent a proof from. */
            bound: boolean;
        };
        /** AdminSecurityEvent */
        AdminSecurityEvent: {
            /** @enum {string} */
            type: "login_succeeded" | "login_failed" | "refresh_token_reused" | "dpop_key_mismatch" | "session_revoked" | "session_flagged" | "password_changed" | "password_change_failed" | "users_searched" | "user_viewed" | "user_disabled" | "user_enabled" | "user_erased";
            /** Format: date-time */
            at: string;
            /** @description The client address of the request that caused the event (null for operator actions). */
            ip: string | null;
            userAgent: string | null;
            sessionId: string | null;
            /** @description Why, where the event has a reason (a revocation, a failed login, a disabling). */
            reason: string | null;
            /** @description The operator who acted; null for events the user or tollgate caused. */
            actor: {
                /**
                 * @description `client`: through the admin API; `cli`: the `tollgate` command.
                 * @enum {string}
                 */
                kind: "client" | "cli";
                /** @description The client id, or the operating-system user who ran the command. */
                id: string;
            } | null;
        };
        /** UserDetails */
        UserDetails: {
            user: components["schemas"]["AdminUser"];
            /** @description Live sessions (not revoked, not expired), newest first. */
            sessions: components["schemas"]["AdminSession"][];
            /** @description The latest 100 security events, newest first. */
            events: components["schemas"]["AdminSecurityEvent"][];
        };
        /** RevokedCount */
        RevokedCount: {
            /** @description How many live sessions were revoked. */
            revoked: number;
        };
        /** UserInfo */
        UserInfo: {
            /** @description The user id: the `sub` of the ID token and the access token. */
            sub: string;
            /** @description With `profile`, when the user has a name. */
            name?: string;
            /** @description With `email`. */
            email?: string;
            /** @description With `email`: false, tollgate does not verify addresses. */
            email_verified?: boolean;
        };
        /** OAuthTokenResponse */
        OAuthTokenResponse: {
            /** @description A JWT access token (RFC 9068). */
            access_token: string;
            /** @description `DPoP` when the request carried a DPoP proof (RFC 9449): the access token is bound to its key (`cnf.jkt`) and is sent as `Authorization: DPoP <token>` with a proof. */
            token_type: "Bearer" | "DPoP";
            /** @description Seconds until the access token expires. */
            expires_in: number;
            /** @description refresh_token: the rotated refresh token; authorization_code: the session's first one, when `offline_access` was granted. */
            refresh_token?: string;
            /** @description The scopes granted, space-separated. */
            scope: string;
            /** @description authorization_code with `openid`: the OpenID Connect ID token (a JWT). */
            id_token?: string;
        };
        /** IntrospectionResponse */
        IntrospectionResponse: {
            /** @description False for anything invalid, expired or revoked; then no other member is sent. */
            active: boolean;
            /** @description `Bearer` for an access token, `DPoP` for one bound to a DPoP key, `refresh_token` for a refresh token. */
            token_type?: string;
            sub?: string;
            client_id?: string;
            scope?: string;
            exp?: number;
            iat?: number;
            iss?: string;
            aud?: string;
            jti?: string;
            /** @description The session; absent for client_credentials tokens. */
            sid?: string;
            /** @description RFC 9449 §6.2: the thumbprint of the DPoP key the token is bound to. */
            cnf?: {
                jkt: string;
            };
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type Problem = components['schemas']['Problem'];
export type OAuthError = components['schemas']['OAuthError'];
export type Status = components['schemas']['Status'];
export type PublicJwk = components['schemas']['PublicJwk'];
export type Jwks = components['schemas']['Jwks'];
export type AuthorizationServerMetadata = components['schemas']['AuthorizationServerMetadata'];
export type OpenIdConfiguration = components['schemas']['OpenIdConfiguration'];
export type User = components['schemas']['User'];
export type TokenResponse = components['schemas']['TokenResponse'];
export type Session = components['schemas']['Session'];
export type SessionList = components['schemas']['SessionList'];
export type SecurityEvent = components['schemas']['SecurityEvent'];
export type SecurityEventList = components['schemas']['SecurityEventList'];
export type CartItem = components['schemas']['CartItem'];
export type Cart = components['schemas']['Cart'];
export type AdminUser = components['schemas']['AdminUser'];
export type UserPage = components['schemas']['UserPage'];
export type AdminSession = components['schemas']['AdminSession'];
export type AdminSecurityEvent = components['schemas']['AdminSecurityEvent'];
export type UserDetails = components['schemas']['UserDetails'];
export type RevokedCount = components['schemas']['RevokedCount'];
export type UserInfo = components['schemas']['UserInfo'];
export type OAuthTokenResponse = components['schemas']['OAuthTokenResponse'];
export type IntrospectionResponse = components['schemas']['IntrospectionResponse'];
export type $defs = Record<string, never>;
export interface operations {
    getOpenApiDocument: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An OpenAPI 3.1 document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "openapi": "3.1.0",
                     *       "info": {
                     *         "title": "tollgate",
                     *         "version": "0.1.0"
                     *       },
                     *       "paths": {}
                     *     }
                     */
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The metrics, in the Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    liveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process runs */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ok"
                     *     }
                     */
                    "application/json": components["schemas"]["Status"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    readiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready to serve */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ok"
                     *     }
                     */
                    "application/json": components["schemas"]["Status"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getJwks: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag last read: 304 when the key set has not changed. A malformed value is 400.
                 * @example "7"
                 */
                "if-none-match"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The published public keys (RFC 7517), with Cache-Control max-age and an ETag */
            200: {
                headers: {
                    /** @description The version of the key set: send it back as If-None-Match. */
                    ETag?: string;
                    /** @description `public, max-age=...`: how long the key set may be cached, derived from the rotation schedule. */
                    "Cache-Control"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "keys": [
                     *         {
                     *           "kty": "EC",
                     *           "crv": "P-256",
                     *           "x": "dBeAAB-Mvdhtqk3cKHGs2pN4M4k8prL27p-MAyXyvUo",
                     *           "y": "5jBAt69n9FthYkMNKuVRdyENnjjm23Z1cuEXuB9BpWg",
                     *           "kid": "CsNtpREf2JzLPB_8r_x2ywtfXs3Zx7T4Mos6KG_XMeI",
                     *           "alg": "ES256",
                     *           "use": "sig"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["Jwks"];
                };
            };
            /** @description Not modified: the ETag still matches */
            304: {
                headers: {
                    /** @description The version of the key set: send it back as If-None-Match. */
                    ETag?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getAuthorizationServerMetadata: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description RFC 8414 authorization server metadata */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "issuer": "http://localhost:3000",
                     *       "authorization_endpoint": "http://localhost:3000/oauth/authorize",
                     *       "token_endpoint": "http://localhost:3000/oauth/token",
                     *       "jwks_uri": "http://localhost:3000/.well-known/jwks.json",
                     *       "revocation_endpoint": "http://localhost:3000/oauth/revoke",
                     *       "introspection_endpoint": "http://localhost:3000/oauth/introspect",
                     *       "grant_types_supported": [
                     *         "authorization_code",
                     *         "refresh_token",
                     *         "client_credentials"
                     *       ],
                     *       "response_types_supported": [
                     *         "code"
                     *       ],
                     *       "response_modes_supported": [
                     *         "query"
                     *       ],
                     *       "code_challenge_methods_supported": [
                     *         "S256"
                     *       ],
                     *       "token_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post",
                     *         "none"
                     *       ],
                     *       "revocation_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post",
                     *         "none"
                     *       ],
                     *       "introspection_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post"
                     *       ],
                     *       "scopes_supported": [
                     *         "openid",
                     *         "profile",
                     *         "email",
                     *         "offline_access",
                     *         "cart"
                     *       ],
                     *       "access_token_signing_alg_values_supported": [
                     *         "ES256",
                     *         "RS256"
                     *       ],
                     *       "dpop_signing_alg_values_supported": [
                     *         "ES256",
                     *         "ES384",
                     *         "ES512",
                     *         "EdDSA",
                     *         "Ed25519",
                     *         "PS256",
                     *         "PS384",
                     *         "PS512",
                     *         "RS256",
                     *         "RS384",
                     *         "RS512"
                     *       ],
                     *       "authorization_response_iss_parameter_supported": true,
                     *       "service_documentation": "http://localhost:3000/docs"
                     *     }
                     */
                    "application/json": components["schemas"]["AuthorizationServerMetadata"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getOpenIdConfiguration: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenID Connect Discovery 1.0 provider metadata: the RFC 8414 document and the OpenID Connect members */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "issuer": "http://localhost:3000",
                     *       "authorization_endpoint": "http://localhost:3000/oauth/authorize",
                     *       "token_endpoint": "http://localhost:3000/oauth/token",
                     *       "jwks_uri": "http://localhost:3000/.well-known/jwks.json",
                     *       "revocation_endpoint": "http://localhost:3000/oauth/revoke",
                     *       "introspection_endpoint": "http://localhost:3000/oauth/introspect",
                     *       "grant_types_supported": [
                     *         "authorization_code",
                     *         "refresh_token",
                     *         "client_credentials"
                     *       ],
                     *       "response_types_supported": [
                     *         "code"
                     *       ],
                     *       "response_modes_supported": [
                     *         "query"
                     *       ],
                     *       "code_challenge_methods_supported": [
                     *         "S256"
                     *       ],
                     *       "token_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post",
                     *         "none"
                     *       ],
                     *       "revocation_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post",
                     *         "none"
                     *       ],
                     *       "introspection_endpoint_auth_methods_supported": [
                     *         "client_secret_basic",
                     *         "client_secret_post"
                     *       ],
                     *       "scopes_supported": [
                     *         "openid",
                     *         "profile",
                     *         "email",
                     *         "offline_access",
                     *         "cart"
                     *       ],
                     *       "access_token_signing_alg_values_supported": [
                     *         "ES256",
                     *         "RS256"
                     *       ],
                     *       "dpop_signing_alg_values_supported": [
                     *         "ES256",
                     *         "ES384",
                     *         "ES512",
                     *         "EdDSA",
                     *         "Ed25519",
                     *         "PS256",
                     *         "PS384",
                     *         "PS512",
                     *         "RS256",
                     *         "RS384",
                     *         "RS512"
                     *       ],
                     *       "authorization_response_iss_parameter_supported": true,
                     *       "service_documentation": "http://localhost:3000/docs",
                     *       "userinfo_endpoint": "http://localhost:3000/oauth/userinfo",
                     *       "end_session_endpoint": "http://localhost:3000/oauth/logout",
                     *       "subject_types_supported": [
                     *         "public"
                     *       ],
                     *       "id_token_signing_alg_values_supported": [
                     *         "RS256",
                     *         "ES256"
                     *       ],
                     *       "claims_supported": [
                     *         "sub",
                     *         "iss",
                     *         "aud",
                     *         "exp",
                     *         "iat",
                     *         "auth_time",
                     *         "nonce",
                     *         "sid",
                     *         "azp",
                     *         "name",
                     *         "email",
                     *         "email_verified"
                     *       ],
                     *       "prompt_values_supported": [
                     *         "none",
                     *         "login",
                     *         "consent",
                     *         "select_account"
                     *       ],
                     *       "claims_parameter_supported": false,
                     *       "request_parameter_supported": false,
                     *       "request_uri_parameter_supported": false
                     *     }
                     */
                    "application/json": components["schemas"]["OpenIdConfiguration"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    register: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "ada@example.com",
                 *       "password": "correct horse battery staple",
                 *       "name": "Ada Lovelace"
                 *     }
                 */
                "application/json": {
                    /**
                     * @description Compared case-insensitively; stored trimmed and lower-cased. Control characters are refused (400).
                     * @example ada@example.com
                     */
                    email: string;
                    /**
                     * Format: password
                     * @description 8 to 256 characters, not on the list of common passwords (else 400 weak_password).
                     * @example correct horse battery staple
                     */
                    password: string;
                    /** @description A display name; blank means none. Control characters are refused (400). */
                    name?: string | null;
                };
            };
        };
        responses: {
            /** @description The account was created */
            201: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *       "email": "ada@example.com",
                     *       "name": "Ada Lovelace",
                     *       "createdAt": "2025-03-14T09:26:53.589Z"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid; `weak_password`: the password is too weak. */
            400: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Conflict. Problem `code` `email_taken`: an account with this email already exists. */
            409: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests. Problem `code` `rate_limited`: too many requests. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "ada@example.com",
                 *       "password": "correct horse battery staple"
                 *     }
                 */
                "application/json": {
                    /**
                     * @description Compared case-insensitively; stored trimmed and lower-cased. Control characters are refused (400).
                     * @example ada@example.com
                     */
                    email: string;
                    /**
                     * Format: password
                     * @example correct horse battery staple
                     */
                    password: string;
                };
            };
        };
        responses: {
            /** @description Logged in: a new session */
            200: {
                headers: {
                    /** @description The refresh token as the `tollgate_refresh` cookie: `HttpOnly; Secure; SameSite=Strict; Path=/v1/auth`. */
                    "Set-Cookie"?: string;
                    /** @description Token responses are never cached. */
                    "Cache-Control"?: "no-store";
                    Pragma?: "no-cache";
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl",
                     *       "token_type": "Bearer",
                     *       "expires_in": 600,
                     *       "refresh_token": "p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9",
                     *       "scope": "cart"
                     *     }
                     */
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_credentials`: invalid email or password; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests. Problem `code` `rate_limited`: too many requests. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    changePassword: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "currentPassword": "correct horse battery staple",
                 *       "newPassword": "a brand new and unusual passphrase"
                 *     }
                 */
                "application/json": {
                    /**
                     * Format: password
                     * @example correct horse battery staple
                     */
                    currentPassword: string;
                    /**
                     * Format: password
                     * @description 8 to 256 characters, not on the list of common passwords (else 400 weak_password).
                     * @example correct horse battery staple
                     */
                    newPassword: string;
                };
            };
        };
        responses: {
            /** @description Changed; every other session is revoked */
            204: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid; `weak_password`: the password is too weak. */
            400: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce; `invalid_credentials`: invalid email or password. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests. Problem `code` `rate_limited`: too many requests. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    refreshToken: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "refresh_token": "p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9"
                 *     }
                 */
                "application/json": {
                    /** @description The latest refresh token of the session. Omit (or send empty) to use the tollgate_refresh cookie. */
                    refresh_token?: string;
                };
            };
        };
        responses: {
            /** @description A new access token and the session's next refresh token */
            200: {
                headers: {
                    /** @description The refresh token as the `tollgate_refresh` cookie: `HttpOnly; Secure; SameSite=Strict; Path=/v1/auth`. */
                    "Set-Cookie"?: string;
                    /** @description Token responses are never cached. */
                    "Cache-Control"?: "no-store";
                    Pragma?: "no-cache";
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl",
                     *       "token_type": "Bearer",
                     *       "expires_in": 600,
                     *       "refresh_token": "p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9",
                     *       "scope": "cart"
                     *     }
                     */
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_grant`: the refresh token is invalid, expired or revoked; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `forbidden_origin`: cross-origin request refused. */
            403: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Too many requests. Problem `code` `rate_limited`: too many requests. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "refresh_token": "p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9"
                 *     }
                 */
                "application/json": {
                    /** @description The latest refresh token of the session. Omit (or send empty) to use the tollgate_refresh cookie. */
                    refresh_token?: string;
                };
            };
        };
        responses: {
            /** @description Logged out: the session is revoked and the cookie cleared */
            204: {
                headers: {
                    /** @description Clears the `tollgate_refresh` cookie: empty, with an expiry in the past. */
                    "Set-Cookie"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `forbidden_origin`: cross-origin request refused. */
            403: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listSessions: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Your live sessions */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sessions": [
                     *         {
                     *           "id": "0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
                     *           "current": true,
                     *           "createdAt": "2025-03-14T09:26:53.589Z",
                     *           "lastUsedAt": "2025-03-14T10:02:11.021Z",
                     *           "expiresAt": "2025-03-21T10:02:11.021Z",
                     *           "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                     *           "ip": "203.0.113.7",
                     *           "flagged": false,
                     *           "bound": true
                     *         },
                     *         {
                     *           "id": "a3c1e5f7-9b2d-4f6a-8e0c-2b4d6f8a0c1e",
                     *           "current": false,
                     *           "createdAt": "2025-03-14T09:26:53.589Z",
                     *           "lastUsedAt": "2025-03-14T10:02:11.021Z",
                     *           "expiresAt": "2025-03-21T10:02:11.021Z",
                     *           "userAgent": "tollgate-cli/1.0",
                     *           "ip": "203.0.113.7",
                     *           "flagged": false,
                     *           "bound": false
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["SessionList"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    revokeOtherSessions: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every other session is revoked */
            204: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    revokeSession: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A session id from the sessions list.
                 * @example a3c1e5f7-9b2d-4f6a-8e0c-2b4d6f8a0c1e
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The session is revoked */
            204: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listSecurityEvents: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Your latest security events */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "events": [
                     *         {
                     *           "type": "login_succeeded",
                     *           "at": "2025-03-14T09:26:53.589Z",
                     *           "ip": "203.0.113.7",
                     *           "userAgent": "tollgate-cli/1.0",
                     *           "sessionId": "0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
                     *         },
                     *         {
                     *           "type": "login_failed",
                     *           "at": "2025-03-14T09:26:41.112Z",
                     *           "ip": "198.51.100.23",
                     *           "userAgent": "curl/8.5.0",
                     *           "sessionId": null
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["SecurityEventList"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getMe: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Your account */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *       "email": "ada@example.com",
                     *       "name": "Ada Lovelace",
                     *       "createdAt": "2025-03-14T09:26:53.589Z"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listCartItems: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag last read: 304 if the cart has not changed since. A malformed value is 400.
                 * @example "7"
                 */
                "if-none-match"?: string;
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Your cart */
            200: {
                headers: {
                    /** @description The cart version as a strong entity tag, e.g. "7". */
                    ETag?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "items": [
                     *         {
                     *           "id": "5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a",
                     *           "sku": "TEA-EARL-GREY-250G",
                     *           "quantity": 2,
                     *           "createdAt": "2025-03-14T09:30:00.000Z",
                     *           "updatedAt": "2025-03-14T09:31:12.500Z"
                     *         }
                     *       ],
                     *       "version": 7
                     *     }
                     */
                    "application/json": components["schemas"]["Cart"];
                };
            };
            /** @description The cart has not changed since the ETag sent */
            304: {
                headers: {
                    /** @description The cart version as a strong entity tag, e.g. "7". */
                    ETag?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    addCartItem: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag of the cart as last read (or `*`): the write is refused with 412 if the cart changed since. A malformed value is 400.
                 * @example "7"
                 */
                "if-match"?: string;
                /**
                 * @description Makes the add safe to retry (draft-ietf-httpapi-idempotency-key-header): a retry with the same key and the same body, by the same user, within 24 h, gets the first answer and adds nothing; the same key with another body is 422 `idempotency_key_reused`. 1 to 255 visible ASCII characters, as a structured-field string (`"…"`) or bare; a random UUID per add is the usual choice. A malformed value is 400.
                 * @example "4c8a2d6e-3f1b-4a9e-8d7c-2b5e9f0a1c3d"
                 */
                "idempotency-key"?: string;
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "sku": "TEA-EARL-GREY-250G",
                 *       "quantity": 2
                 *     }
                 */
                "application/json": {
                    /** @description 1 to 64 characters of A-Z a-z 0-9 - _ . */
                    sku: string;
                    /**
                     * Format: int32
                     * @description An integer from 1 to 999.
                     */
                    quantity: number;
                };
            };
        };
        responses: {
            /** @description The item, with its new quantity */
            201: {
                headers: {
                    /** @description The cart version as a strong entity tag, e.g. "7". */
                    ETag?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a",
                     *       "sku": "TEA-EARL-GREY-250G",
                     *       "quantity": 2,
                     *       "createdAt": "2025-03-14T09:30:00.000Z",
                     *       "updatedAt": "2025-03-14T09:31:12.500Z"
                     *     }
                     */
                    "application/json": components["schemas"]["CartItem"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed. Problem `code` `precondition_failed`: the resource changed since the version you sent. */
            412: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unprocessable content. Problem `code` `quantity_limit_exceeded`: the quantity would exceed the limit; `idempotency_key_reused`: the idempotency-key was already used with a different request. */
            422: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    deleteCartItem: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag of the cart as last read (or `*`): the write is refused with 412 if the cart changed since. A malformed value is 400.
                 * @example "7"
                 */
                "if-match"?: string;
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description The item id. Anything that is not the id of an item in your cart, a malformed one included, is 404.
                 * @example 5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Removed */
            204: {
                headers: {
                    /** @description The cart version as a strong entity tag, e.g. "7". */
                    ETag?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed. Problem `code` `precondition_failed`: the resource changed since the version you sent. */
            412: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    updateCartItem: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag of the cart as last read (or `*`): the write is refused with 412 if the cart changed since. A malformed value is 400.
                 * @example "7"
                 */
                "if-match"?: string;
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description The item id. Anything that is not the id of an item in your cart, a malformed one included, is 404.
                 * @example 5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "quantity": 3
                 *     }
                 */
                "application/json": {
                    /**
                     * Format: int32
                     * @description An integer from 1 to 999.
                     */
                    quantity: number;
                };
            };
        };
        responses: {
            /** @description The item */
            200: {
                headers: {
                    /** @description The cart version as a strong entity tag, e.g. "7". */
                    ETag?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "5b2e8c1a-7d4f-4e6b-9a3c-0f1e2d3c4b5a",
                     *       "sku": "TEA-EARL-GREY-250G",
                     *       "quantity": 2,
                     *       "createdAt": "2025-03-14T09:30:00.000Z",
                     *       "updatedAt": "2025-03-14T09:31:12.500Z"
                     *     }
                     */
                    "application/json": components["schemas"]["CartItem"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed. Problem `code` `precondition_failed`: the resource changed since the version you sent. */
            412: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    clearCart: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag of the cart as last read (or `*`): the write is refused with 412 if the cart changed since. A malformed value is 400.
                 * @example "7"
                 */
                "if-match"?: string;
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Emptied */
            204: {
                headers: {
                    /** @description The cart version as a strong entity tag, e.g. "7". */
                    ETag?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Precondition failed. Problem `code` `precondition_failed`: the resource changed since the version you sent. */
            412: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getRevocations: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The ETag last read: 304 when the feed has not changed. A malformed value is 400.
                 * @example "7"
                 */
                "if-none-match"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The signed feed: a compact JWS whose payload is `{iss, iat, exp, sids, jtis}` */
            200: {
                headers: {
                    /** @description The version of the feed: send it back as If-None-Match. */
                    ETag?: string;
                    /** @description `public, max-age=5` by default (REVOCATIONS_MAX_AGE_SECONDS). */
                    "Cache-Control"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/jwt": string;
                };
            };
            /** @description Not modified: the ETag still matches */
            304: {
                headers: {
                    /** @description The version of the feed: send it back as If-None-Match. */
                    ETag?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminFindUsers: {
        parameters: {
            query?: {
                /**
                 * @description Users whose email contains this text (compared case-insensitively).
                 * @example @example.com
                 */
                email?: string;
                /**
                 * @description The user with this id.
                 * @example 6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41
                 */
                id?: string;
                /**
                 * @description The `nextCursor` of the previous page.
                 * @example MjAyNS0wMy0xNFQwOToyNjo1My41ODlafDZmMWMyYjllLTRkM2EtNGU4Yi05YzFkLTJhN2Y1ZTBiM2M0MQ
                 */
                cursor?: string;
                /** @description Users per page. */
                limit?: number;
            };
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of users */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "users": [
                     *         {
                     *           "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *           "email": "ada@example.com",
                     *           "name": "Ada Lovelace",
                     *           "createdAt": "2025-03-14T09:26:53.589Z",
                     *           "disabled": false,
                     *           "disabledAt": null
                     *         }
                     *       ],
                     *       "nextCursor": "MjAyNS0wMy0xNFQwOToyNjo1My41ODlafDZmMWMyYjllLTRkM2EtNGU4Yi05YzFkLTJhN2Y1ZTBiM2M0MQ"
                     *     }
                     */
                    "application/json": components["schemas"]["UserPage"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminGetUser: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A user id.
                 * @example 6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user, sessions and events */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *         "email": "ada@example.com",
                     *         "name": "Ada Lovelace",
                     *         "createdAt": "2025-03-14T09:26:53.589Z",
                     *         "disabled": false,
                     *         "disabledAt": null
                     *       },
                     *       "sessions": [
                     *         {
                     *           "id": "0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
                     *           "clientId": "tollgate-web",
                     *           "kind": "tokens",
                     *           "createdAt": "2025-03-14T09:26:53.589Z",
                     *           "lastUsedAt": "2025-03-14T10:02:11.021Z",
                     *           "expiresAt": "2025-03-21T10:02:11.021Z",
                     *           "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                     *           "ip": "203.0.113.7",
                     *           "flagged": false,
                     *           "bound": false
                     *         }
                     *       ],
                     *       "events": [
                     *         {
                     *           "type": "user_viewed",
                     *           "at": "2025-03-14T11:00:00.000Z",
                     *           "ip": null,
                     *           "userAgent": null,
                     *           "sessionId": null,
                     *           "reason": null,
                     *           "actor": {
                     *             "kind": "client",
                     *             "id": "c_7Qm2xYv9Lk3Pz8Rw"
                     *           }
                     *         },
                     *         {
                     *           "type": "login_succeeded",
                     *           "at": "2025-03-14T09:26:53.589Z",
                     *           "ip": "203.0.113.7",
                     *           "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                     *           "sessionId": "0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
                     *           "reason": null,
                     *           "actor": null
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["UserDetails"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminEraseUser: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A user id.
                 * @example 6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user is erased */
            204: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminRevokeUserSessions: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A user id.
                 * @example 6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The sessions are revoked */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "revoked": 3
                     *     }
                     */
                    "application/json": components["schemas"]["RevokedCount"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminRevokeSession: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A session id.
                 * @example 0d9b8a7c-6e5f-4a3b-8c2d-1e0f9a8b7c6d
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The session is revoked */
            204: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminDisableUser: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A user id.
                 * @example 6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "reason": "account reported compromised (ticket 4711)"
                 *     }
                 */
                "application/json": {
                    /** @description Why, for the audit trail (recorded on the security event). */
                    reason?: string;
                };
            };
        };
        responses: {
            /** @description The user, disabled */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *       "email": "ada@example.com",
                     *       "name": "Ada Lovelace",
                     *       "createdAt": "2025-03-14T09:26:53.589Z",
                     *       "disabled": false,
                     *       "disabledAt": null
                     *     }
                     */
                    "application/json": components["schemas"]["AdminUser"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    adminEnableUser: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path: {
                /**
                 * @description A user id.
                 * @example 6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41
                 */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user, enabled */
            200: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *       "email": "ada@example.com",
                     *       "name": "Ada Lovelace",
                     *       "createdAt": "2025-03-14T09:26:53.589Z",
                     *       "disabled": false,
                     *       "disabledAt": null
                     *     }
                     */
                    "application/json": components["schemas"]["AdminUser"];
                };
            };
            /** @description Bad request. Problem `code` `validation_failed`: the request is not valid. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unauthorized. Problem `code` `invalid_token`: the access token is missing, invalid or expired; `invalid_dpop_proof`: the dpop proof is missing or invalid; `use_dpop_nonce`: the dpop proof must carry the server's nonce. */
            401: {
                headers: {
                    /** @description On a missing or bad credential: an RFC 6750 challenge, e.g. `Bearer realm="tollgate", error="invalid_token"`, or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) an RFC 9449 one: `DPoP realm="tollgate", error="invalid_dpop_proof", algs="ES256 ..."`. */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Forbidden. Problem `code` `insufficient_scope`: the access token lacks the required scope. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Not found. Problem `code` `not_found`: not found. */
            404: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Content too large. Problem `code` `payload_too_large`: the request body is too large. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description URI too long. Problem `code` `validation_failed`: the request is not valid. */
            414: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Unsupported media type. Problem `code` `unsupported_media_type`: unsupported content type. */
            415: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Internal server error. Problem `code` `internal_error`: internal server error. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description Service unavailable. Problem `code` `service_unavailable`: service unavailable. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    authorize: {
        parameters: {
            query?: {
                /** @description `code`: the only response type. */
                response_type?: string;
                /** @description The registered client. */
                client_id?: string;
                /** @description Exactly one of the client's registered redirect URIs. */
                redirect_uri?: string;
                /** @description Space-separated scopes within the client's, e.g. `openid profile email offline_access`. */
                scope?: string;
                /** @description Returned unchanged with the code or the error. */
                state?: string;
                /** @description OpenID Connect: copied into the ID token. */
                nonce?: string;
                /** @description PKCE: BASE64URL(SHA-256(code_verifier)), 43 characters. Required. */
                code_challenge?: string;
                /** @description PKCE: `S256` (the only method; required). */
                code_challenge_method?: string;
                /** @description `none` (answer without any page: `login_required` / `consent_required`), `login` (ask for the password again), `consent` (ask again). */
                prompt?: string;
                /** @description Seconds: a sign-in older than this asks for the password again. */
                max_age?: string;
                /** @description `query` (the only mode). */
                response_mode?: string;
                /** @description An email to fill the login form with. */
                login_hint?: string;
                /** @description Not supported (`request_not_supported`). */
                request?: string;
                /** @description Not supported (`request_uri_not_supported`). */
                request_uri?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The login page, or the consent page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Back to the client: `code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`. */
            303: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: an HTML error page (`text/html`), never a redirect, naming its code: `invalid_client` when `client_id` is missing or names no registered (or a deleted) client, `invalid_redirect_uri` when `redirect_uri` is missing or not exactly one of the client's registered redirect URIs, `validation_failed` when a parameter breaks its limits. Every other error of the request is a 303 back to the client with `error`. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal server error: an HTML error page (`internal_error`). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Service unavailable: an HTML error page (`service_unavailable`). */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    authorizeWithForm: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "response_type": "code",
                 *       "client_id": "3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b",
                 *       "redirect_uri": "https://app.example/callback",
                 *       "scope": "openid profile email",
                 *       "state": "af0ifjsldkj",
                 *       "nonce": "n-0S6_WzA2Mj",
                 *       "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                 *       "code_challenge_method": "S256"
                 *     }
                 */
                "application/x-www-form-urlencoded": {
                    /** @description `code`: the only response type. */
                    response_type?: string;
                    /** @description The registered client. */
                    client_id?: string;
                    /**
                     * Format: uri
                     * @description Exactly one of the client's registered redirect URIs.
                     */
                    redirect_uri?: string;
                    /** @description Space-separated scopes within the client's, e.g. `openid profile email offline_access`. */
                    scope?: string;
                    /** @description Returned unchanged with the code or the error. */
                    state?: string;
                    /** @description OpenID Connect: copied into the ID token. */
                    nonce?: string;
                    /** @description PKCE: BASE64URL(SHA-256(code_verifier)), 43 characters. Required. */
                    code_challenge?: string;
                    /** @description PKCE: `S256` (the only method; required). */
                    code_challenge_method?: string;
                    /** @description `none` (answer without any page: `login_required` / `consent_required`), `login` (ask for the password again), `consent` (ask again). */
                    prompt?: string;
                    /** @description Seconds: a sign-in older than this asks for the password again. */
                    max_age?: string;
                    /** @description `query` (the only mode). */
                    response_mode?: string;
                    /** @description An email to fill the login form with. */
                    login_hint?: string;
                    /** @description Not supported (`request_not_supported`). */
                    request?: string;
                    /** @description Not supported (`request_uri_not_supported`). */
                    request_uri?: string;
                };
            };
        };
        responses: {
            /** @description The login page, or the consent page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Back to the client: `code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`. */
            303: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: an HTML error page (`text/html`), never a redirect, naming its code: `invalid_client` when `client_id` is missing or names no registered (or a deleted) client, `invalid_redirect_uri` when `redirect_uri` is missing or not exactly one of the client's registered redirect URIs, `validation_failed` when a parameter breaks its limits. Every other error of the request is a 303 back to the client with `error`. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Content too large: an HTML error page (`payload_too_large`). */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal server error: an HTML error page (`internal_error`). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Service unavailable: an HTML error page (`service_unavailable`). */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    signIn: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "interaction": "eyJwIjp7fX0.c2lnbmF0dXJl",
                 *       "email": "ada@example.com",
                 *       "password": "correct horse battery staple"
                 *     }
                 */
                "application/x-www-form-urlencoded": {
                    /** @description The hidden field of the login page: the authorization request it belongs to, bound to this browser. */
                    interaction: string;
                    email: string;
                    /** Format: password */
                    password: string;
                };
            };
        };
        responses: {
            /** @description The login page, or the consent page. */
            200: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Back to the client: `code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`. */
            303: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: an HTML error page (`text/html`), never a redirect, naming its code: `invalid_client` when `client_id` is missing or names no registered (or a deleted) client, `invalid_redirect_uri` when `redirect_uri` is missing or not exactly one of the client's registered redirect URIs, `validation_failed` when a parameter breaks its limits. Every other error of the request is a 303 back to the client with `error`. */
            400: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Forbidden: an HTML error page (`forbidden_origin`, `invalid_form`). */
            403: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Content too large: an HTML error page (`payload_too_large`). */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Too many requests: an HTML error page (`rate_limited`). */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal server error: an HTML error page (`internal_error`). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Service unavailable: an HTML error page (`service_unavailable`). */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    consent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "interaction": "eyJwIjp7fX0.c2lnbmF0dXJl",
                 *       "decision": "allow"
                 *     }
                 */
                "application/x-www-form-urlencoded": {
                    /** @description The hidden field of the consent page. */
                    interaction: string;
                    /** @description The button the user pressed. */
                    decision: "allow" | "deny";
                };
            };
        };
        responses: {
            /** @description The login page, or the consent page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Back to the client: `code`, `state`, `iss`, or `error`, `error_description`, `state`, `iss`. */
            303: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: an HTML error page (`text/html`), never a redirect, naming its code: `invalid_client` when `client_id` is missing or names no registered (or a deleted) client, `invalid_redirect_uri` when `redirect_uri` is missing or not exactly one of the client's registered redirect URIs, `validation_failed` when a parameter breaks its limits. Every other error of the request is a 303 back to the client with `error`. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Forbidden: an HTML error page (`forbidden_origin`, `invalid_form`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Content too large: an HTML error page (`payload_too_large`). */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal server error: an HTML error page (`internal_error`). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Service unavailable: an HTML error page (`service_unavailable`). */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    getUserInfo: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's claims */
            200: {
                headers: {
                    /** @description Token responses are never cached. */
                    "Cache-Control"?: "no-store";
                    Pragma?: "no-cache";
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sub": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *       "name": "Ada Lovelace",
                     *       "email": "ada@example.com",
                     *       "email_verified": false
                     *     }
                     */
                    "application/json": components["schemas"]["UserInfo"];
                };
            };
            /** @description Bad request: RFC 6749 error `invalid_request`. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Unauthorized: RFC 6749 error `invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`. */
            401: {
                headers: {
                    /** @description On every 401 `invalid_client`, however the client tried to authenticate: `Basic realm="tollgate"` (RFC 6749 §5.2, RFC 9110 §15.5.2); on a bad bearer token (userinfo): `Bearer ..., error="invalid_token"` (RFC 6750 §3), or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) `DPoP ..., error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Forbidden: RFC 6749 error `insufficient_scope`. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Internal server error: RFC 6749 error `server_error`. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Service unavailable: RFC 6749 error `temporarily_unavailable`. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
        };
    };
    postUserInfo: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's claims */
            200: {
                headers: {
                    /** @description Token responses are never cached. */
                    "Cache-Control"?: "no-store";
                    Pragma?: "no-cache";
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sub": "6f1c2b9e-4d3a-4e8b-9c1d-2a7f5e0b3c41",
                     *       "name": "Ada Lovelace",
                     *       "email": "ada@example.com",
                     *       "email_verified": false
                     *     }
                     */
                    "application/json": components["schemas"]["UserInfo"];
                };
            };
            /** @description Bad request: RFC 6749 error `invalid_request`. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Unauthorized: RFC 6749 error `invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`. */
            401: {
                headers: {
                    /** @description On every 401 `invalid_client`, however the client tried to authenticate: `Basic realm="tollgate"` (RFC 6749 §5.2, RFC 9110 §15.5.2); on a bad bearer token (userinfo): `Bearer ..., error="invalid_token"` (RFC 6750 §3), or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) `DPoP ..., error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Forbidden: RFC 6749 error `insufficient_scope`. */
            403: {
                headers: {
                    /** @description On a token without the needed scope: `Bearer ..., error="insufficient_scope", scope="..."` (`DPoP ...` for a token presented as DPoP). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Content too large: RFC 6749 error `invalid_request`. The body is over the size limit. */
            413: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Internal server error: RFC 6749 error `server_error`. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Service unavailable: RFC 6749 error `temporarily_unavailable`. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
        };
    };
    endSession: {
        parameters: {
            query?: {
                /** @description An ID token tollgate issued to the client (expired or not): logs out at once, without a confirmation page. */
                id_token_hint?: string;
                /** @description The client, when there is no id_token_hint. */
                client_id?: string;
                /** @description Exactly one of the client's registered post-logout redirect URIs. */
                post_logout_redirect_uri?: string;
                /** @description Returned with the redirect. */
                state?: string;
                /** @description The confirmation page's hidden field (POST only). */
                interaction?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The confirmation page (no id_token_hint), or the "signed out" page (no post_logout_redirect_uri). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description To the post_logout_redirect_uri, with `state`. */
            303: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: an HTML error page (`validation_failed`). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal server error: an HTML error page (`internal_error`). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Service unavailable: an HTML error page (`service_unavailable`). */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    endSessionWithForm: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "id_token_hint": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl",
                 *       "post_logout_redirect_uri": "https://app.example/signed-out",
                 *       "state": "xyz"
                 *     }
                 */
                "application/x-www-form-urlencoded": {
                    /** @description An ID token tollgate issued to the client (expired or not): logs out at once, without a confirmation page. */
                    id_token_hint?: string;
                    /** @description The client, when there is no id_token_hint. */
                    client_id?: string;
                    /**
                     * Format: uri
                     * @description Exactly one of the client's registered post-logout redirect URIs.
                     */
                    post_logout_redirect_uri?: string;
                    /** @description Returned with the redirect. */
                    state?: string;
                    /** @description The confirmation page's hidden field (POST only). */
                    interaction?: string;
                };
            };
        };
        responses: {
            /** @description The confirmation page (no id_token_hint), or the "signed out" page (no post_logout_redirect_uri). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description To the post_logout_redirect_uri, with `state`. */
            303: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: an HTML error page (`validation_failed`). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Forbidden: an HTML error page (`forbidden_origin`, `invalid_form`). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Content too large: an HTML error page (`payload_too_large`). */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal server error: an HTML error page (`internal_error`). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Service unavailable: an HTML error page (`service_unavailable`). */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    oauthToken: {
        parameters: {
            query?: never;
            header?: {
                /** @description A DPoP proof (RFC 9449 §4.2): a JWT with `typ: dpop+jwt`, an asymmetric `alg` and the public key in `jwk`, signed with the client's private key, whose claims name this request (`htm`, `htu`: the URL without query or fragment), `iat`, a new `jti` (each proof is accepted once), `ath` (the access token's SHA-256, base64url) when an access token is sent, and the server's `nonce` when it asks for one. At a token endpoint it binds the tokens issued to the key (`token_type: DPoP`); with an access token bound to a key (`Authorization: DPoP <token>`) it is required. No example: a proof is made for one request and used once. */
                dpop?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    /** @description `authorization_code`, `client_credentials` or `refresh_token`. */
                    grant_type?: string;
                    /** @description client_credentials: space-separated scopes within the client's; all of them when omitted. */
                    scope?: string;
                    /** @description refresh_token: the refresh token to rotate. */
                    refresh_token?: string;
                    /** @description authorization_code: the code the authorization endpoint returned (single use, 60 s). */
                    code?: string;
                    /**
                     * Format: uri-reference
                     * @description authorization_code: the redirect_uri of the authorization request.
                     */
                    redirect_uri?: string;
                    /** @description authorization_code: the PKCE verifier of the code_challenge. */
                    code_verifier?: string;
                    /** @description client_secret_post, or the public first-party client identifying itself. */
                    client_id?: string;
                    /** @description client_secret_post. Do not combine with HTTP Basic. */
                    client_secret?: string;
                };
            };
        };
        responses: {
            /** @description The tokens (RFC 6749 §5.1) */
            200: {
                headers: {
                    /** @description Token responses are never cached. */
                    "Cache-Control"?: "no-store";
                    Pragma?: "no-cache";
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRfM2dOWm1FIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.c2lnbmF0dXJl",
                     *       "token_type": "Bearer",
                     *       "expires_in": 600,
                     *       "scope": "orders:read"
                     *     }
                     */
                    "application/json": components["schemas"]["OAuthTokenResponse"];
                };
            };
            /** @description Bad request: RFC 6749 error `invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, `invalid_dpop_proof`, `use_dpop_nonce`. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Unauthorized: RFC 6749 error `invalid_client`. */
            401: {
                headers: {
                    /** @description On every 401 `invalid_client`, however the client tried to authenticate: `Basic realm="tollgate"` (RFC 6749 §5.2, RFC 9110 §15.5.2); on a bad bearer token (userinfo): `Bearer ..., error="invalid_token"` (RFC 6750 §3), or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) `DPoP ..., error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Content too large: RFC 6749 error `invalid_request`. The body is over the size limit. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Too many requests: RFC 6749 error `invalid_request`. A rate limit was exceeded; see Retry-After. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Internal server error: RFC 6749 error `server_error`. */
            500: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Service unavailable: RFC 6749 error `temporarily_unavailable`. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
        };
    };
    oauthRevoke: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "token": "p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9",
                 *       "token_type_hint": "refresh_token"
                 *     }
                 */
                "application/x-www-form-urlencoded": {
                    /** @description An access token or a refresh token. */
                    token: string;
                    /** @description `access_token` or `refresh_token`; optional, tollgate tells the two apart itself. */
                    token_type_hint?: string;
                    /** @description client_secret_post, or the public first-party client identifying itself. */
                    client_id?: string;
                    /** @description client_secret_post. Do not combine with HTTP Basic. */
                    client_secret?: string;
                };
            };
        };
        responses: {
            /** @description Revoked, or nothing to revoke. The body is empty. */
            200: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request: RFC 6749 error `invalid_request`. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Unauthorized: RFC 6749 error `invalid_client`. */
            401: {
                headers: {
                    /** @description On every 401 `invalid_client`, however the client tried to authenticate: `Basic realm="tollgate"` (RFC 6749 §5.2, RFC 9110 §15.5.2); on a bad bearer token (userinfo): `Bearer ..., error="invalid_token"` (RFC 6750 §3), or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) `DPoP ..., error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Content too large: RFC 6749 error `invalid_request`. The body is over the size limit. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Too many requests: RFC 6749 error `invalid_request`. A rate limit was exceeded; see Retry-After. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Internal server error: RFC 6749 error `server_error`. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Service unavailable: RFC 6749 error `temporarily_unavailable`. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
        };
    };
    oauthIntrospect: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "token": "p7Wm2Qk9xRf4Tz1Lb8Nc3Vd6Hs0Ja5Ue2Yo7Gi4Kw9",
                 *       "token_type_hint": "refresh_token"
                 *     }
                 */
                "application/x-www-form-urlencoded": {
                    /** @description An access token or a refresh token. */
                    token: string;
                    /** @description `access_token` or `refresh_token`; optional, tollgate tells the two apart itself. */
                    token_type_hint?: string;
                    /** @description client_secret_post, or the public first-party client identifying itself. */
                    client_id?: string;
                    /** @description client_secret_post. Do not combine with HTTP Basic. */
                    client_secret?: string;
                };
            };
        };
        responses: {
            /** @description What the token is, or only `active: false` */
            200: {
                headers: {
                    /** @description Token responses are never cached. */
                    "Cache-Control"?: "no-store";
                    Pragma?: "no-cache";
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["IntrospectionResponse"];
                };
            };
            /** @description Bad request: RFC 6749 error `invalid_request`. */
            400: {
                headers: {
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Unauthorized: RFC 6749 error `invalid_client`. */
            401: {
                headers: {
                    /** @description On every 401 `invalid_client`, however the client tried to authenticate: `Basic realm="tollgate"` (RFC 6749 §5.2, RFC 9110 §15.5.2); on a bad bearer token (userinfo): `Bearer ..., error="invalid_token"` (RFC 6750 §3), or for DPoP (a token presented with the DPoP scheme or bound to a key, a bad proof) `DPoP ..., error="invalid_dpop_proof", algs="..."` (RFC 9449 §7.1). */
                    "WWW-Authenticate"?: string;
                    /** @description The nonce the next DPoP proof must carry (RFC 9449 §8): sent with `use_dpop_nonce`, and, while the server requires nonces, on every answer to a request with a proof (successful ones included, §8.2). Nonces last 60 to 120 seconds. */
                    "DPoP-Nonce"?: string;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Content too large: RFC 6749 error `invalid_request`. The body is over the size limit. */
            413: {
                headers: {
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Too many requests: RFC 6749 error `invalid_request`. A rate limit was exceeded; see Retry-After. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After"?: number;
                    /** @description Requests allowed in the current window by the counter closest to its limit (sent while rate limiting is on). */
                    "RateLimit-Limit"?: number;
                    /** @description Requests left in the current window of that counter. */
                    "RateLimit-Remaining"?: number;
                    /** @description Seconds until that window ends. */
                    "RateLimit-Reset"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Internal server error: RFC 6749 error `server_error`. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Service unavailable: RFC 6749 error `temporarily_unavailable`. */
            503: {
                headers: {
                    /** @description Seconds to wait before trying again (sent when the service sheds load or waits out a database outage). */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
        };
    };
}
