import { Effect, Option } from "effect"
import type { SqlClient } from "effect/sql"

/**
 * For a statement whose failure is mapped to a domain error (a unique violation): inside a caller's
 * transaction it runs in a savepoint, so a caller that recovers from that error can go on using the
 * transaction (PostgreSQL refuses every later statement of a transaction with a failed statement).
 * Outside one, the single statement is atomic already and runs as is, saving BEGIN and COMMIT.
 */
export const recoverable =
  (sql: SqlClient.SqlClient) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.serviceOption(sql.transactionService), (transaction) =>
      Option.isSome(transaction) ? sql.withTransaction(effect) : effect
    )
