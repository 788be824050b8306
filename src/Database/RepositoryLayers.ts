import { Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { AppConfig, type LoadOptions } from "../Config/AppConfig.ts"
import type { ConfigLoadError } from "../Config/ConfigError.ts"
import { DatabaseLayer } from "./DatabaseLayers.ts"
import * as RepositoryFronts from "./Front/RepositoryFronts.ts"
import type { DatabaseMigrations } from "./Migrations/DatabaseMigrations.ts"
import * as PostgresStore from "./Postgres/PostgresStore.ts"
import type { Repositories } from "./Repositories/Repositories.ts"

/**
 * The repositories and `Transactions` on PostgreSQL, the dependencies left to the caller: the `SqlClient`
 * and the migrated database (`DatabaseMigrations`), e.g. from `DatabaseLayer`.
 */
export const layerNoDeps: Layer.Layer<Repositories, never, SqlClient.SqlClient | DatabaseMigrations> =
  RepositoryFronts.layer.pipe(Layer.provide(PostgresStore.layer))

/**
 * Everything a platform service needs, in one layer: configuration (file + environment) -> client (embedded
 * server when none is configured) -> migrations -> repositories. Provides `AppConfig`, `PgClient`,
 * `SqlClient`, `DatabaseMigrations`, the repositories and `Transactions`.
 */
export const layer = (
  options: LoadOptions = {}
): Layer.Layer<
  Repositories | Layer.Success<typeof DatabaseLayer> | AppConfig,
  Layer.Error<typeof DatabaseLayer> | ConfigLoadError
> => layerNoDeps.pipe(Layer.provideMerge(DatabaseLayer), Layer.provideMerge(AppConfig.layer(options)))
