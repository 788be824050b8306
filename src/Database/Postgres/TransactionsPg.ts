import { Cause, Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { DatabaseUnavailable } from "../../Domain/index.ts"
import { DatabaseMigrations } from "../Migrations/DatabaseMigrations.ts"
import type { Transactions } from "../Repositories/Transactions.ts"
import { domainCause } from "./SqlErrors.ts"

// Wraps the caller's own failures so they pass through untouched (even a SqlError of the caller's raw SQL):
// only the failures of BEGIN, COMMIT, ROLLBACK and SAVEPOINT are this layer's to map.
class CallerFailure<E> {
  readonly error: E
  constructor(error: E) {
    this.error = error
  }
}

const unwrap = <E, E2>(cause: Cause.Cause<CallerFailure<E> | E2>): Cause.Cause<E | E2> =>
  Cause.fromReasons(
    cause.reasons.map(
      (reason): Cause.Reason<E | E2> =>
        Cause.isFailReason(reason) && reason.error instanceof CallerFailure
          ? Cause.makeFailReason((reason.error as CallerFailure<E>).error)
          : (reason as Cause.Reason<E2>)
    )
  )

/**
 * `sql.withTransaction` on the client the repositories use, so their calls join it (a nested call is a
 * savepoint). A repository's own audited change inside it commits or rolls back with the caller's block.
 * A connection lost at any point (the ROLLBACK included) fails the whole block with `DatabaseUnavailable`.
 */
export const makeTransactionsPg: Effect.Effect<
  Transactions["Service"],
  never,
  SqlClient.SqlClient | DatabaseMigrations
> = Effect.gen(function* () {
  yield* DatabaseMigrations
  const sql = yield* SqlClient.SqlClient

  const withTransaction = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DatabaseUnavailable, R> =>
    sql
      .withTransaction(Effect.mapError(effect, (error) => new CallerFailure(error)))
      .pipe(Effect.catchCause((cause) => Effect.failCause(unwrap(domainCause("Transactions.withTransaction", cause)))))

  return { withTransaction }
})
