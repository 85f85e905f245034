import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { entityTag, expectedVersions, ifNoneMatchHits } from '../../../http/conditional-requests.js'
import { idempotencyKeyOf } from '../../../http/idempotency-key.js'
import { ACCESS_TOKEN_ERRORS, ACCESS_TOKEN_SECURITY, problemResponses, withDpopHeader } from '../../../http/schemas.js'
import {
  AddItemBodySchema,
  AddItemHeadersSchema,
  CartItemSchema,
  CartSchema,
  ConditionalReadHeadersSchema,
  ConditionalWriteHeadersSchema,
  EntityTagHeader,
  ItemParamsSchema,
  SetQuantityBodySchema,
} from './schemas.js'

const TAGS = ['cart']
const CONDITIONAL = 'Honours If-Match against the cart version (the ETag of GET /v1/cart/items): 412 if it changed.'

function subjectOf(request: FastifyRequest): string {
  // Set by app.authenticate, which runs before every handler here.
  return request.identity!.subject
}

const cartRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const preHandler = [app.authenticate, app.requireScope('cart')]

  app.get(
    '/items',
    {
      preHandler,
      schema: {
        operationId: 'listCartItems',
        tags: TAGS,
        security: ACCESS_TOKEN_SECURITY,
        summary: 'List the items in your cart',
        description: 'The items and the cart version; the version is also the ETag, and If-None-Match gets a 304 when nothing changed.',
        headers: withDpopHeader(ConditionalReadHeadersSchema),
        response: {
          200: { ...CartSchema, 'x-response-description': 'Your cart', headers: { ETag: EntityTagHeader } },
          304: Type.Null({ description: 'The cart has not changed since the ETag sent', headers: { ETag: EntityTagHeader } }),
          ...problemResponses(...ACCESS_TOKEN_ERRORS, 'insufficient_scope'),
        },
      },
    },
    async (request, reply) => {
      const cart = await app.cart.get(subjectOf(request))
      reply.header('etag', entityTag(cart.version)).header('cache-control', 'private, no-cache').header('vary', 'authorization')
      if (ifNoneMatchHits(request.headers['if-none-match'], entityTag(cart.version))) return reply.code(304).send(null)
      return cart
    },
  )

  app.post(
    '/items',
    {
      preHandler,
      schema: {
        operationId: 'addCartItem',
        tags: TAGS,
        security: ACCESS_TOKEN_SECURITY,
        summary: 'Add an item to your cart',
        description: `Adds a sku, or adds to its quantity when it is already in the cart (atomically: concurrent adds never lose an update). A total above 999 is 422 and changes nothing. ${CONDITIONAL} With an Idempotency-Key, a retry (the reply was lost, the connection dropped) gets the first answer, from any instance, and adds nothing.`,
        headers: withDpopHeader(AddItemHeadersSchema),
        body: AddItemBodySchema,
        response: {
          201: { ...CartItemSchema, 'x-response-description': 'The item, with its new quantity', headers: { ETag: EntityTagHeader } },
          ...problemResponses('validation_failed', ...ACCESS_TOKEN_ERRORS, 'insufficient_scope', 'precondition_failed', 'quantity_limit_exceeded', 'idempotency_key_reused'),
        },
      },
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key']
      const { item, version } = await app.cart.add(subjectOf(request), request.body, {
        expectedVersions: expectedVersions(request.headers['if-match']),
        idempotencyKey: key === undefined ? undefined : idempotencyKeyOf(key),
      })
      return reply.code(201).header('etag', entityTag(version)).send(item)
    },
  )

  app.patch(
    '/items/:id',
    {
      preHandler,
      schema: {
        operationId: 'updateCartItem',
        tags: TAGS,
        security: ACCESS_TOKEN_SECURITY,
        summary: 'Set the quantity of an item',
        description: `Replaces the item's quantity. ${CONDITIONAL}`,
        params: ItemParamsSchema,
        headers: withDpopHeader(ConditionalWriteHeadersSchema),
        body: SetQuantityBodySchema,
        response: {
          200: { ...CartItemSchema, 'x-response-description': 'The item', headers: { ETag: EntityTagHeader } },
          ...problemResponses('validation_failed', ...ACCESS_TOKEN_ERRORS, 'insufficient_scope', 'not_found', 'precondition_failed'),
        },
      },
    },
    async (request, reply) => {
      const { item, version } = await app.cart.setQuantity(subjectOf(request), request.params.id, request.body.quantity, {
        expectedVersions: expectedVersions(request.headers['if-match']),
      })
      return reply.header('etag', entityTag(version)).send(item)
    },
  )

  app.delete(
    '/items/:id',
    {
      preHandler,
      schema: {
        operationId: 'deleteCartItem',
        tags: TAGS,
        security: ACCESS_TOKEN_SECURITY,
        summary: 'Remove an item from your cart',
        description: `Removes the item; its id is then 404. ${CONDITIONAL}`,
        params: ItemParamsSchema,
        headers: withDpopHeader(ConditionalWriteHeadersSchema),
        response: {
          204: Type.Null({ description: 'Removed', headers: { ETag: EntityTagHeader } }),
          ...problemResponses('validation_failed', ...ACCESS_TOKEN_ERRORS, 'insufficient_scope', 'not_found', 'precondition_failed'),
        },
      },
    },
    async (request, reply) => {
      const { version } = await app.cart.remove(subjectOf(request), request.params.id, { expectedVersions: expectedVersions(request.headers['if-match']) })
      return reply.code(204).header('etag', entityTag(version)).send(null)
    },
  )

  app.delete(
    '/',
    {
      preHandler,
      schema: {
        operationId: 'clearCart',
        tags: TAGS,
        security: ACCESS_TOKEN_SECURITY,
        summary: 'Empty your cart',
        description: `Removes every item (an empty cart is fine) and bumps the version. ${CONDITIONAL}`,
        headers: withDpopHeader(ConditionalWriteHeadersSchema),
        response: {
          204: Type.Null({ description: 'Emptied', headers: { ETag: EntityTagHeader } }),
          ...problemResponses('validation_failed', ...ACCESS_TOKEN_ERRORS, 'insufficient_scope', 'precondition_failed'),
        },
      },
    },
    async (request, reply) => {
      const { version } = await app.cart.clear(subjectOf(request), { expectedVersions: expectedVersions(request.headers['if-match']) })
      return reply.code(204).header('etag', entityTag(version)).send(null)
    },
  )
}

export default cartRoutes
