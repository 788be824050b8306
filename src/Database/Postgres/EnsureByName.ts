import { Effect, Option } from "effect"

const attempts = 3

/**
 * Race-safe get-or-create by a unique name: `insert` is an `INSERT ... ON CONFLICT (name) DO NOTHING
 * RETURNING`, and when another writer got there first, `select` reads its row. `select` is a statement of
 * its own (a fresh snapshot under READ COMMITTED), so it sees a row committed concurrently; should that row
 * be deleted in between, the insert is tried again.
 */
export const ensureByName = <A, E, R>(
  insert: Effect.Effect<Option.Option<A>, E, R>,
  select: Effect.Effect<Option.Option<A>, E, R>
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const inserted = yield* insert
      if (Option.isSome(inserted)) return inserted.value
      const existing = yield* select
      if (Option.isSome(existing)) return existing.value
    }
    return yield* Effect.die(new Error(`ensure: the row was deleted concurrently ${attempts} times in a row`))
  })
