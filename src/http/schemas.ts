import { Type } from 'typebox'

/** RFC 9457 problem details, as every /v1 and operations error is sent. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URN naming the problem type, e.g. urn:tollgate:problem:email_taken' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable machine-readable code; see the catalogue in the README.' }),
  },
  { $id: 'Problem', title: 'Problem' },
)

/** RFC 6749 §5.2 error response, as the /oauth endpoints send it. */
export const OAuthErrorSchema = Type.Object(
  {
    error: Type.String(),
    error_description: Type.Optional(Type.String()),
  },
  { $id: 'OAuthError', title: 'OAuthError' },
)

/** The shared error responses, by status, for a route's `response` schema. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('Problem')]))
}

export function oauthErrorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('OAuthError')]))
}
