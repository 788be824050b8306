import type { PgClient } from "@effect/sql-pg"
import { Layer } from "effect"
import type { SqlClient } from "effect/sql"
import type { MigrationError } from "effect/sql/Migrator"
import type { SqlError } from "effect/sql/SqlError"
import type { AppConfig } from "../Config/AppConfig.ts"
import type { ConfigLoadError } from "../Config/ConfigError.ts"
import * as DatabaseClient from "./Client/DatabaseClient.ts"
import type { DatabaseStartupError, EmbeddedPostgresError } from "./Client/DatabaseErrors.ts"
import { DatabaseTarget } from "./Client/DatabaseTarget.ts"
import { DatabaseMigrations, type DatabaseMigrationsOptions } from "./Migrations/DatabaseMigrations.ts"
import { ReadReplicas } from "./Topology/ReadReplicas.ts"

/** Why the database could not be made ready: the target, the connection or the migrations. */
export type DatabaseError = ConfigLoadError | EmbeddedPostgresError | DatabaseStartupError | MigrationError | SqlError

/**
 * `PgClient` and `SqlClient` for the configured server (the embedded one, started for this scope, when none is
 * configured), without running migrations.
 */
export const layerConnection: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | DatabaseTarget | ReadReplicas,
  DatabaseError,
  AppConfig
> = ReadReplicas.layer.pipe(
  Layer.provideMerge(DatabaseClient.layer),
  Layer.provideMerge(DatabaseTarget.layer({ embedded: "start" }))
)

/**
 * The database, migrated: `PgClient`, `SqlClient` and `DatabaseMigrations`. Building it connects (retrying
 * until `database.startup.timeout`), then applies pending migrations; releasing it closes the pool and,
 * when embedded, stops the server after the pool is closed.
 */
export const layer: Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | DatabaseTarget | ReadReplicas | DatabaseMigrations,
  DatabaseError,
  AppConfig
> = DatabaseMigrations.layer.pipe(Layer.provideMerge(layerConnection))

/** As `layer`, with a service's own migrations given in code (see `DatabaseMigrationsOptions`). */
export const layerWith = (
  options: DatabaseMigrationsOptions
): Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | DatabaseTarget | ReadReplicas | DatabaseMigrations,
  DatabaseError,
  AppConfig
> => DatabaseMigrations.layerWith(options).pipe(Layer.provideMerge(layerConnection))
