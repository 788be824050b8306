import { Layer } from "effect"
import { DatabaseClientLayer } from "./Client/DatabaseClient.ts"
import { DatabaseTarget } from "./Client/DatabaseTarget.ts"
import { DatabaseMigrations } from "./Migrations/DatabaseMigrations.ts"

/** The configured server, or, when none is configured, an embedded one started for this scope. */
export const DatabaseTargetLayer = DatabaseTarget.layer({ embedded: "start" })

/** `PgClient` and `SqlClient` for the configured (or embedded) server, without running migrations. */
export const DatabaseConnectionLayer = DatabaseClientLayer.pipe(Layer.provideMerge(DatabaseTargetLayer))

/**
 * The database, migrated: `PgClient`, `SqlClient` and `DatabaseMigrations`. Building it connects (retrying
 * until `database.startup.timeout`), then applies pending migrations; releasing it closes the pool and,
 * when embedded, stops the server after the pool is closed.
 */
export const DatabaseLayer = DatabaseMigrations.layer.pipe(Layer.provideMerge(DatabaseConnectionLayer))
