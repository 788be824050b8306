import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import type { SqlError } from "effect/sql/SqlError"

/** Runs `f` with a one-connection client on the server's maintenance database, closed afterwards. */
export const withAdmin = <A, E>(
  adminUrl: string,
  f: (admin: PgClient.PgClient) => Effect.Effect<A, E>
): Effect.Effect<A, E | SqlError> =>
  Effect.gen(function* () {
    const admin = yield* PgClient.PgClient
    return yield* f(admin)
  }).pipe(
    Effect.provide(
      PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1, applicationName: "pk-test-admin" })
    )
  )
