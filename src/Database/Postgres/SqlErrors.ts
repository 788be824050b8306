import { Cause, Effect, Schema } from "effect"
import { SqlError } from "effect/sql"
import { DatabaseUnavailable } from "../../Domain/index.ts"
import { describeSqlError } from "../Client/DatabaseClient.ts"

type ReasonTag = SqlError.SqlError["reason"]["_tag"]

// Failures that trying again later can fix: the caller answers 503. Everything else is a bug or a broken
// invariant and becomes a defect, so it is never mistaken for a retryable condition.
const transientReasons: ReadonlySet<ReasonTag> = new Set<ReasonTag>([
  "ConnectionError",
  "StatementTimeoutError",
  "LockTimeoutError",
  "DeadlockError",
  "SerializationError",
  "AuthenticationError"
])

// SQLSTATEs the driver files under UnknownError that still mean "not now": the server shutting down or
// restarting (its sessions are terminated, in-flight statements fail with 57P01) or out of connection slots.
const transientSqlStates: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "53300"])

const sqlState = (error: SqlError.SqlError): string | undefined => {
  const code = (error.reason.cause as { readonly code?: unknown } | undefined)?.code
  return typeof code === "string" ? code : undefined
}

export const isTransient = (error: unknown): error is SqlError.SqlError =>
  SqlError.isSqlError(error) &&
  (transientReasons.has(error.reason._tag) || transientSqlStates.has(sqlState(error) ?? ""))

/** Unique constraint name → the domain error for it, e.g. `{ users_email_key: () => new EmailAlreadyTaken(...) }`. */
export type UniqueViolations<E> = Readonly<Record<string, () => E>>

const unavailable = (operation: string, error: SqlError.SqlError) =>
  new DatabaseUnavailable({ operation, reason: `${error.reason._tag}: ${describeSqlError(error)}` })

/**
 * The domain view of a failed cause:
 * - a transient SQL failure anywhere in it, even as a defect (a ROLLBACK on a lost connection dies), makes
 *   the whole failure `DatabaseUnavailable`, unless the fiber was interrupted;
 * - a unique violation named in `unique` becomes that domain error;
 * - any other SQL failure, and a `SchemaError` (rows, or encoding input already validated), is a defect;
 * - the other failures (domain errors) and interruptions are kept.
 */
export const domainCause = <E, E2 = never>(
  operation: string,
  cause: Cause.Cause<E>,
  unique?: UniqueViolations<E2>
): Cause.Cause<Exclude<E, SqlError.SqlError | Schema.SchemaError> | E2 | DatabaseUnavailable> => {
  type Out = Exclude<E, SqlError.SqlError | Schema.SchemaError> | E2 | DatabaseUnavailable
  if (!Cause.hasInterrupts(cause)) {
    for (const reason of cause.reasons) {
      const error = Cause.isFailReason(reason) ? reason.error : Cause.isDieReason(reason) ? reason.defect : undefined
      if (isTransient(error)) return Cause.fail(unavailable(operation, error))
    }
  }
  return Cause.fromReasons<Out>(
    cause.reasons.map((reason): Cause.Reason<Out> => {
      if (!Cause.isFailReason(reason)) return reason as Cause.Reason<never>
      const error = reason.error
      if (SqlError.isSqlError(error)) {
        const violated = error.reason._tag === "UniqueViolation" ? error.reason.constraint : undefined
        if (violated !== undefined && unique !== undefined && Object.hasOwn(unique, violated)) {
          return Cause.makeFailReason(unique[violated]!())
        }
        return Cause.makeDieReason(error)
      }
      if (Schema.isSchemaError(error)) return Cause.makeDieReason(error)
      return reason as Cause.Reason<Out>
    })
  )
}

/** Maps the failures of `self` as `domainCause` describes; `operation` names the call in `DatabaseUnavailable`. */
export const mapSqlErrors =
  <E2 = never>(operation: string, unique?: UniqueViolations<E2>) =>
  <A, E, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, Exclude<E, SqlError.SqlError | Schema.SchemaError> | E2 | DatabaseUnavailable, R> =>
    Effect.catchCause(self, (cause) => Effect.failCause(domainCause(operation, cause, unique)))
