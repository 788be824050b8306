import { type Cause, Effect, Option, Schema } from "effect"
import { type SqlClient, SqlError } from "effect/sql"
import { KeyTaken, type StoreFailure } from "../Front/RepositoryStore.ts"

/** A violation of the unique constraint `constraint` fails with `KeyTaken`. */
export const keyTakenOn =
  (constraint: string) =>
  <A, E, R>(statement: Effect.Effect<A, E, R>): Effect.Effect<A, E | KeyTaken, R> =>
    Effect.mapError(statement, (error) =>
      SqlError.isSqlError(error) && error.reason._tag === "UniqueViolation" && error.reason.constraint === constraint
        ? new KeyTaken()
        : error
    )

/**
 * For a statement whose failure a caller may recover from (a `KeyTaken`): inside a caller's transaction it
 * runs in a savepoint, so the caller can go on using the transaction (PostgreSQL refuses every later
 * statement of a transaction with a failed statement). Outside one, the single statement is atomic already
 * and runs as is, saving BEGIN and COMMIT.
 */
export const recoverable =
  (sql: SqlClient.SqlClient) =>
  <A, E, R>(statement: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError, R> =>
    Effect.flatMap(Effect.serviceOption(sql.transactionService), (transaction) =>
      Option.isSome(transaction) ? sql.withTransaction(statement) : statement
    )

/**
 * "The X of an owner" read in one statement with LEFT JOINs from the owner's row, decoded with `Row`: no row
 * at all means no such owner (`None`), a single row of NULLs means the owner has none.
 */
export const rowsOfOwner = <S extends Schema.Constraint>(Row: S) => {
  const decode = Schema.decodeUnknownEffect(Schema.Array(Row))
  return <E, R>(statement: Effect.Effect<ReadonlyArray<{ readonly id: unknown }>, E, R>) =>
    Effect.flatMap(statement, (rows) =>
      rows.length === 0 ? Effect.succeedNone : Effect.asSome(decode(rows.filter((row) => row.id !== null)))
    )
}

/** A statement that always returns one row: none is a broken invariant, a defect. */
export const exactlyOne = <A, R>(
  statement: Effect.Effect<A, StoreFailure | Cause.NoSuchElementError, R>
): Effect.Effect<A, StoreFailure, R> => Effect.catchTag(statement, "NoSuchElementError", Effect.die)

/** What a statement adding or removing a link found (`LinkChange`): one row, always. */
export const LinkChangeRow = Schema.Struct({
  holderLabel: Schema.NullOr(Schema.String),
  heldLabel: Schema.NullOr(Schema.String),
  changed: Schema.Boolean
})
