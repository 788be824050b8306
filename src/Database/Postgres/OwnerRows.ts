import { Effect } from "effect"

/**
 * For "the X of an owner" read in one query with LEFT JOINs from the owner's row: no row at all means no
 * such owner (fails with `notFound`), a single row of NULLs means the owner has none.
 */
export const rowsOfOwner =
  <E>(notFound: () => E) =>
  <A extends { readonly id: unknown }>(rows: ReadonlyArray<A>): Effect.Effect<ReadonlyArray<A>, E> =>
    rows.length === 0 ? Effect.fail(notFound()) : Effect.succeed(rows.filter((row) => row.id !== null))
