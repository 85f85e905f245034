import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

// Placeholder: the endpoints of this prefix arrive with their issue.
const routes: FastifyPluginAsyncTypebox = async () => {}

export default routes
