import { Cause, Effect } from "effect"
import { Transactions } from "../Repositories/Transactions.ts"
import { domainCause } from "./Operation.ts"
import { RepositoryStore } from "./RepositoryStore.ts"

// Wraps the caller's own failures so they pass through untouched (even a SqlError of the caller's raw SQL):
// only the failures of the transaction itself (BEGIN, COMMIT, ROLLBACK, SAVEPOINT) are this layer's to map.
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
 * `Transactions` over the store the repositories use, so their calls join it (a nested call is a savepoint)
 * and a repository's own audited change inside it commits or rolls back with the caller's block. A
 * connection lost at any point (the ROLLBACK included) fails the whole block with `DatabaseUnavailable`.
 */
export const makeTransactions: Effect.Effect<Transactions["Service"], never, RepositoryStore> = Effect.gen(
  function* () {
    const store = yield* RepositoryStore
    return Transactions.of({
      withTransaction: (effect) =>
        store
          .transaction(Effect.mapError(effect, (error) => new CallerFailure(error)))
          .pipe(
            Effect.catchCause((cause) => Effect.failCause(unwrap(domainCause("Transactions.withTransaction", cause))))
          )
    })
  }
)
