import type { SqlError } from "effect/sql/SqlError"

/** The server's own words when it has them; never the connection string. */
export const describeSqlError = (error: SqlError): string => {
  const cause = error.reason.cause
  const serverMessage = cause instanceof Error && cause.message !== "" ? cause.message : undefined
  return serverMessage ?? error.reason.message ?? error.reason._tag
}

// SQLSTATEs the driver files under UnknownError (not retryable) that still mean "not now": the server
// shutting down or restarting (its sessions are terminated, in-flight statements fail with 57P01) or out of
// connection slots.
const transientSqlStates: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "53300"])

const sqlState = (error: SqlError): string | undefined => {
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

/**
 * Whether trying again later can fix `error`: the driver's own verdict (`reason.isRetryable`: a lost
 * connection, a deadlock, a serialization failure, a lock or statement timeout) plus the SQLSTATEs above.
 * Bad credentials, a missing database, a syntax error or a constraint violation are permanent.
 */
export const isTransientSqlError = (error: SqlError): boolean =>
  error.reason.isRetryable || transientSqlStates.has(sqlState(error) ?? "")
