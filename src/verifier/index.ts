/**
 * tollgate/verifier: the `@tollgate/verifier` package, re-exported with its Fastify plugin for code
 * that already depends on the server. Other services install `@tollgate/verifier` alone.
 *
 * @packageDocumentation
 */
export * from '@tollgate/verifier'
export * from '@tollgate/verifier/fastify'
