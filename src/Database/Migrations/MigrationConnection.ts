import { Effect, Redacted } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import * as Migrator from "effect/sql/Migrator"
import { AppConfig } from "../../Config/AppConfig.ts"
import type { AppConfigValues } from "../../Config/ConfigSchema.ts"
import * as DatabaseClient from "../Client/DatabaseClient.ts"
import { DatabaseTarget } from "../Client/DatabaseTarget.ts"

/** Whether migrations run on a connection of their own (`database.migrations.url`, the owner role's). */
export const hasOwnUrl = (config: AppConfigValues): boolean => Redacted.value(config.database.migrations.url) !== ""

/**
 * A one-connection client for `database.migrations.url`, with every other setting of `database` (TLS,
 * timeouts, PgBouncer mode), open until the scope closes. Fails as a `MigrationError` saying which URL could
 * not be used, never showing it.
 */
export const ownerClient = (config: AppConfigValues) =>
  Effect.gen(function* () {
    const database = {
      ...config.database,
      url: config.database.migrations.url,
      pool: { ...config.database.pool, maxConnections: 1, minConnections: 0 }
    }
    const target = yield* DatabaseTarget.fromConfig(database)
    return yield* DatabaseClient.make({ awaitServer: true }).pipe(
      Effect.provideService(AppConfig, { ...config, database }),
      Effect.provideService(DatabaseTarget, target),
      Effect.provide(Reactivity.layer)
    )
  }).pipe(
    Effect.mapError(
      (error) =>
        new Migrator.MigrationError({
          kind: "Failed",
          message: `cannot connect with database.migrations.url: ${error.message}`,
          cause: error
        })
    )
  )
