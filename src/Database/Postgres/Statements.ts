import { type Cause, Effect, Schema } from "effect"
import { SqlError } from "effect/sql"
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
