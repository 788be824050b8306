import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.ts"
import { DatabaseClientLayer } from "./Client/DatabaseClient.ts"
import { DatabaseTarget } from "./Client/DatabaseTarget.ts"
import { layerEmbeddedTarget, layerEmbeddedTargetReuseRunning } from "./Embedded/EmbeddedPostgres.ts"
import { DatabaseMigrations } from "./Migrations/DatabaseMigrations.ts"

/** The configured server, or, when none is configured, an embedded one started for this scope. */
export const DatabaseTargetLayer = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    return DatabaseTarget.isConfigured(config.database) ? DatabaseTarget.layerConfigured : layerEmbeddedTarget
  })
)

/** Like `DatabaseTargetLayer`, but reusing an embedded server that a running `serve` started. */
export const DatabaseTargetLayerReuseRunning = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    return DatabaseTarget.isConfigured(config.database)
      ? DatabaseTarget.layerConfigured
      : layerEmbeddedTargetReuseRunning
  })
)

/** `PgClient` and `SqlClient` for the configured (or embedded) server, without running migrations. */
export const DatabaseConnectionLayer = DatabaseClientLayer.pipe(Layer.provideMerge(DatabaseTargetLayer))

/**
 * The database, migrated: `PgClient`, `SqlClient` and `DatabaseMigrations`. Building it connects (retrying
 * until `database.startup.timeout`), then applies pending migrations; releasing it closes the pool and,
 * when embedded, stops the server after the pool is closed.
 */
export const DatabaseLayer = DatabaseMigrations.layer.pipe(Layer.provideMerge(DatabaseConnectionLayer))
