import { describe, expect, it } from 'vitest'
import { databaseFailureOf, isStalePlan } from '../../../src/db/unavailable.js'
import { Prisma } from '../../../src/generated/prisma/client.js'
import { ProblemError } from '../../../src/errors.js'

const withCode = (message: string, code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { code, ...extra })
const prismaError = (code: string, meta?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError('Invalid invocation', { code, clientVersion: '7', ...(meta ? { meta } : {}) })
// What @prisma/adapter-pg wraps a pg error in (meta.driverAdapterError, its cause the mapped kind).
const adapterError = (cause: Record<string, unknown>) => Object.assign(new Error('DriverAdapterError'), { name: 'DriverAdapterError', cause })

// The shapes met through the fault proxy (test/integration/db/faults.test.ts), and their relatives.
const UNAVAILABLE: Array<[string, unknown, string]> = [
  ['socket refused', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED', { syscall: 'connect', errno: -111 }), 'refused'],
  ['socket reset', withCode('read ECONNRESET', 'ECONNRESET'), 'connection_lost'],
  ['broken pipe', withCode('write EPIPE', 'EPIPE'), 'connection_lost'],
  ['socket timeout', withCode('connect ETIMEDOUT', 'ETIMEDOUT'), 'timeout'],
  ['host unreachable', withCode('connect EHOSTUNREACH', 'EHOSTUNREACH'), 'refused'],
  ['DNS failure', withCode('getaddrinfo EAI_AGAIN db', 'EAI_AGAIN'), 'refused'],
  ['every address refused', new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'connect'), 'refused'],
  ['pg: pool acquisition timeout', new Error('timeout exceeded when trying to connect'), 'pool_exhausted'],
  ['pg: client-side query timeout', new Error('Query read timeout'), 'timeout'],
  ['pg: connect timeout', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') }), 'timeout'],
  ['pg: connection lost', new Error('Connection terminated unexpectedly'), 'connection_lost'],
  ['pg: broken client', new Error('Client has encountered a connection error and is not queryable'), 'connection_lost'],
  ['PostgreSQL: admin shutdown', withCode('terminating connection due to administrator command', '57P01'), 'connection_lost'],
  ['PostgreSQL: starting up', withCode('the database system is starting up', '57P03'), 'refused'],
  ['PostgreSQL: too many connections', withCode('sorry, too many clients already', '53300'), 'refused'],
  ['PostgreSQL: connection exception', withCode('connection failure', '08006'), 'connection_lost'],
  ['PostgreSQL: protocol violation', withCode('invalid frontend message type 0', '08P01'), 'connection_lost'],
  ['PostgreSQL: unnamed statement lost', withCode('unnamed prepared statement does not exist', '26000'), 'connection_lost'],
  ['PostgreSQL: named statement lost', withCode('prepared statement "tollgate_3" does not exist', '26000'), 'connection_lost'],
  ['PostgreSQL: idle session timeout', withCode('terminating connection due to idle-session timeout', '57P05'), 'connection_lost'],
  ['pg: a reply out of step', new Error('Received unexpected commandComplete message from backend.'), 'connection_lost'],
  ['a write on a destroyed connection', withCode('Cannot call write after a stream was destroyed', 'ERR_STREAM_DESTROYED'), 'connection_lost'],
  ['Prisma raw query with 26000 underneath', prismaError('P2010', { code: '26000' }), 'connection_lost'],
  ['Prisma with 26000 underneath', prismaError('P2039', { driverAdapterError: adapterError({ kind: 'postgres', originalCode: '26000' }) }), 'connection_lost'],
  ['PostgreSQL: statement_timeout', withCode('canceling statement due to statement timeout', '57014'), 'timeout'],
  ['PostgreSQL: lock_timeout', withCode('canceling statement due to lock timeout', '55P03'), 'timeout'],
  ['PostgreSQL: idle in transaction timeout', withCode('terminating connection due to idle-in-transaction timeout', '25P03'), 'connection_lost'],
  ['Prisma P1001', prismaError('P1001', { driverAdapterError: adapterError({ kind: 'DatabaseNotReachable' }) }), 'refused'],
  ['Prisma P1017', prismaError('P1017', { driverAdapterError: adapterError({ kind: 'ConnectionClosed' }) }), 'connection_lost'],
  ['Prisma P2024', prismaError('P2024'), 'pool_exhausted'],
  ['Prisma P2028', prismaError('P2028'), 'timeout'],
  ['Prisma P2039 with 57P01 underneath', prismaError('P2039', { driverAdapterError: adapterError({ kind: 'postgres', originalCode: '57P01' }) }), 'connection_lost'],
  ['Prisma raw query with 57014 underneath', prismaError('P2010', { code: '57014' }), 'timeout'],
]

const OTHER: Array<[string, unknown]> = [
  ['a unique violation', prismaError('P2002')],
  ['a serialization failure', withCode('could not serialize access', '40001')],
  ['a syntax error', withCode('syntax error at or near', '42601')],
  ['a programming error', new TypeError('x is not a function')],
  ['a problem of the catalogue', new ProblemError('service_unavailable', 'Query read timeout')],
  ['a Fastify error', withCode('body too large', 'FST_ERR_CTP_BODY_TOO_LARGE')],
  ['a string', 'ECONNREFUSED'],
  ['null', null],
]

describe('databaseFailureOf', () => {
  it.each(UNAVAILABLE)('%s is an unavailable database', (_name, error, kind) => {
    expect(databaseFailureOf(error)).toBe(kind)
  })

  it.each(OTHER)('%s is not', (_name, error) => {
    expect(databaseFailureOf(error)).toBeUndefined()
  })
})

// A statement prepared before a migration changed what it returns: pg's error carries the routine
// that raised it, Prisma's copy the message. Other feature_not_supported errors are bugs, not this.
const STALE = 'cached plan must not change result type'
const STALE_PLANS: Array<[string, unknown, boolean]> = [
  ['pg: 0A000 from RevalidateCachedQuery', withCode(STALE, '0A000', { routine: 'RevalidateCachedQuery' }), true],
  ['pg: 0A000 in another language, by its routine', withCode('le plan en cache ne doit pas modifier le type en résultat', '0A000', { routine: 'RevalidateCachedQuery' }), true],
  ['Prisma with it underneath', prismaError('P2039', { driverAdapterError: adapterError({ kind: 'postgres', code: '0A000', message: STALE, originalCode: '0A000', originalMessage: STALE }) }), true],
  ['pg: another 0A000', withCode('FOR UPDATE is not allowed with aggregate functions', '0A000', { routine: 'CheckSelectLocking' }), false],
  ['Prisma with another 0A000 underneath', prismaError('P2039', { driverAdapterError: adapterError({ kind: 'postgres', originalCode: '0A000', originalMessage: 'cannot use FOR UPDATE here' }) }), false],
  ['the message without the SQLSTATE', new Error(STALE), false],
]

describe('isStalePlan', () => {
  it.each(STALE_PLANS)('%s: %s', (_name, error, stale) => {
    expect(isStalePlan(error)).toBe(stale)
  })

  it('is not an unavailable database (no outage, readiness stays up)', () => {
    expect(databaseFailureOf(STALE_PLANS[0]![1])).toBeUndefined()
  })
})
