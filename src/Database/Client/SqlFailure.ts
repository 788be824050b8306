import { Predicate } from "effect"
import { SqlError } from "effect/sql"
import { NoMatchingHostError } from "../Topology/HostResolver.ts"

/** The SQLSTATE the server sent, when the failure came from the server (not from the socket or the driver). */
export const sqlStateOf = (error: SqlError.SqlError): string | undefined => {
  const cause = error.reason.cause
  return Predicate.hasProperty(cause, "severity") &&
    Predicate.hasProperty(cause, "code") &&
    Predicate.isString(cause.code)
    ? cause.code
    : undefined
}

// Codes Node gives a TLS handshake it rejected: OpenSSL's certificate verdicts and its own host name check.
const TLS_FAILURE_CODE =
  /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$)/

const codeOf = (cause: unknown): string | undefined =>
  Predicate.hasProperty(cause, "code") && Predicate.isString(cause.code) ? cause.code : undefined

const isTlsFailure = (cause: unknown): boolean => TLS_FAILURE_CODE.test(codeOf(cause) ?? "")

/**
 * The cause of a call the client gave up on: no connection within `database.pool.acquireTimeout`, or no
 * answer within the statement deadline. Transient by definition (the server or the pool may be free again).
 */
export class DeadlineExceeded extends Error {
  override readonly name = "DeadlineExceeded"
}

/** The `SqlError` for a wait for a connection that ran out of time: a retryable `ConnectionError`. */
export const acquireTimedOut = (message: string): SqlError.SqlError =>
  new SqlError.SqlError({
    reason: new SqlError.ConnectionError({ cause: new DeadlineExceeded(message), message, operation: "acquire" })
  })

/** The `SqlError` for a statement whose answer did not come in time: a retryable `StatementTimeoutError`. */
export const statementTimedOut = (message: string): SqlError.SqlError =>
  new SqlError.SqlError({
    reason: new SqlError.StatementTimeoutError({ cause: new DeadlineExceeded(message), message, operation: "execute" })
  })

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()

/**
 * One line in the server's own words when it sent some (else the socket's or the driver's); never the
 * connection string. A rejected server certificate is marked as such.
 */
export const describeSqlError = (error: SqlError.SqlError): string => {
  const cause = error.reason.cause
  const own = cause instanceof Error && cause.message !== "" ? cause.message : undefined
  const text = own ?? error.reason.message ?? error.reason._tag
  return oneLine(isTlsFailure(cause) ? `server certificate rejected: ${describeTlsFailure(cause, text)}` : text)
}

const describeTlsFailure = (cause: unknown, text: string): string => {
  // Node's own wording ends in an empty list for an IP address; say what the certificate names instead.
  if (codeOf(cause) === "ERR_TLS_CERT_ALTNAME_INVALID" && Predicate.hasProperty(cause, "host")) {
    const names =
      Predicate.hasProperty(cause, "cert") && Predicate.hasProperty(cause.cert, "subjectaltname")
        ? String(cause.cert.subjectaltname)
        : "other names"
    return `it is for ${names}, not ${String(cause.host)}`
  }
  // Node suggests its system CA store; here the CA comes from database.sslRootCert or sslrootcert.
  return text.replace(/; if the root CA is installed locally.*$/, "")
}

// SQLSTATEs the driver files under UnknownError (not retryable) that only mean "not now": the server shutting
// down, crashed and restarting, or still starting up (57P01, 57P02, 57P03), or out of connection slots (53300).
const NOT_NOW_SQLSTATES: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "53300"])

// The messages the driver gives a connection that closed or timed out (its other ConnectionErrors while
// connecting are a refused TLS, a protocol violation, or its own configuration checks).
const CLOSED_OR_TIMED_OUT: ReadonlySet<string> = new Set([
  "Connection timed out",
  "Connection closed unexpectedly",
  "Connection closed",
  "Connection is closed"
])

/**
 * Whether the same statement, or the same connection attempt, can succeed later. The driver's `isRetryable`
 * decides, except where it is wrong for a service:
 * - it marks every `ConnectionError` retryable, but files under it failures that never heal: a TLS refusal or
 *   a rejected certificate, a protocol violation the server reports (08P01, e.g. PgBouncer refusing a startup
 *   parameter), its own configuration checks. A connection error is transient only when the network or the
 *   server's availability failed: an OS-level socket error (it carries `syscall`), a connection that closed or
 *   timed out, another 08 SQLSTATE from the server;
 * - it misses the "not now" SQLSTATEs above.
 * Authentication and authorization failures and a missing database (3D000) are permanent, as the driver says.
 */
export const isTransientSqlError = (error: SqlError.SqlError): boolean => {
  const state = sqlStateOf(error)
  if (error.reason._tag === "ConnectionError") {
    if (state !== undefined) return state.startsWith("08") && state !== "08P01"
    const cause = error.reason.cause
    // No host takes such sessions now (a failover under way): another check of the hosts may find one.
    if (cause instanceof DeadlineExceeded || cause instanceof NoMatchingHostError) return true
    if (isTlsFailure(cause)) return false
    return Predicate.hasProperty(cause, "syscall") || (cause instanceof Error && CLOSED_OR_TIMED_OUT.has(cause.message))
  }
  return error.reason.isRetryable || (state !== undefined && NOT_NOW_SQLSTATES.has(state))
}

/**
 * One readable line for an error that stops a command or fails a check: a SQL failure in the server's words;
 * another error's own message, plus the server's words for a SQL failure it wraps (a failed migration, say).
 * Never a stack trace.
 */
export const describeFailure = (error: unknown): string => {
  if (SqlError.isSqlError(error)) return describeSqlError(error)
  if (!(error instanceof Error)) return oneLine(String(error))
  const cause = (error as { readonly cause?: unknown }).cause
  const detail = SqlError.isSqlError(cause) ? describeSqlError(cause) : undefined
  return oneLine(
    detail !== undefined && !error.message.includes(detail) ? `${error.message}: ${detail}` : error.message
  )
}
