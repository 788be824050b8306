import { Layer } from "effect"
import type { SqlClient } from "effect/sql"
import * as RepositoryFronts from "./Front/RepositoryFronts.ts"
import { MemoryDatabase, type MemoryDatabaseServices } from "./Memory/MemoryDatabase.ts"
import type { DatabaseMigrations } from "./Migrations/DatabaseMigrations.ts"
import * as PostgresStore from "./Postgres/PostgresStore.ts"
import type { Repositories } from "./Repositories/Repositories.ts"

/**
 * The repositories and `Transactions` on PostgreSQL. They need the `SqlClient` and the migrated database
 * (`DatabaseMigrations`), e.g. from `Database.layer`; `PlatformKernel.layer` wires everything. Permission
 * checks are not cached unless a `PermissionCache` is provided to this layer too (`PlatformKernel.layer`
 * provides `PermissionCache.layer`): the cache holds a connection of its own, which a composition part by
 * part asks for explicitly.
 */
export const layer: Layer.Layer<Repositories, never, SqlClient.SqlClient | DatabaseMigrations> =
  RepositoryFronts.layer.pipe(Layer.provide(PostgresStore.layer))

/** The same repositories in memory, on a fresh store per build (see `MemoryDatabase`). */
export const layerMemory: Layer.Layer<MemoryDatabaseServices> = MemoryDatabase.layer
