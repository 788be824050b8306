import { Effect, Layer } from "effect"
import { AppConfig } from "../Config/AppConfig.ts"
import type { ConfigLoadError } from "../Config/ConfigError.ts"
import { DatabaseClientLayer } from "./Client/DatabaseClient.ts"
import type { EmbeddedPostgresError } from "./Client/DatabaseErrors.ts"
import { DatabaseTarget } from "./Client/DatabaseTarget.ts"
import { layerEmbeddedTarget, layerEmbeddedTargetReuseRunning } from "./Embedded/EmbeddedPostgres.ts"
import { DatabaseMigrations } from "./Migrations/DatabaseMigrations.ts"

type TargetLayer = Layer.Layer<DatabaseTarget, ConfigLoadError | EmbeddedPostgresError, AppConfig>

/** The configured server, or, when none is configured, an embedded one started for this scope. */
export const DatabaseTargetLayer = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const layer: TargetLayer = DatabaseTarget.isConfigured(config.database)
      ? DatabaseTarget.layerConfigured
      : layerEmbeddedTarget
    return layer
  })
)

/** Like `DatabaseTargetLayer`, but reusing an embedded server that a running `serve` started. */
export const DatabaseTargetLayerReuseRunning = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* AppConfig
    const layer: TargetLayer = DatabaseTarget.isConfigured(config.database)
      ? DatabaseTarget.layerConfigured
      : layerEmbeddedTargetReuseRunning
    return layer
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
